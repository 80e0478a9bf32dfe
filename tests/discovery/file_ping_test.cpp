// FILE_PING: members find each other through files in a shared temporary folder.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "config/null_runtime.hpp"
#include "discovery/file_ping.hpp"
#include "protocols/tcp_test_util.hpp"

using namespace cohort;
using namespace cohort::test;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    static std::atomic<int> n{0};
    path = fs::temp_directory_path() /
           ("cohort-file-ping-" + std::to_string(::getpid()) + "-" + std::to_string(++n));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::vector<std::unique_ptr<Protocol>> tcp_file_ping(const fs::path& location) {
  std::vector<std::unique_ptr<Protocol>> v;
  v.push_back(make_tcp());
  auto p = std::make_unique<FilePing>();
  REQUIRE(p->set_attribute("location", location.string()) == "");
  REQUIRE(p->set_attribute("interval", "200ms") == "");
  REQUIRE(p->set_attribute("join_timeout", "300ms") == "");
  REQUIRE(p->set_attribute("member_timeout", "3s") == "");
  v.push_back(std::move(p));
  return v;
}

size_t node_files(const fs::path& folder) {
  size_t n = 0;
  std::error_code ec;
  for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec))
    if (it->path().extension() == ".node") ++n;
  return n;
}

}  // namespace

TEST_CASE("FILE_PING: node files round-trip and malformed ones are rejected") {
  MemberInfo info{Address(0x1234, 0x5678, "A"), "127.0.0.1:7800", 0};
  auto parsed = FilePing::parse_node_file(FilePing::format_node_file(info));
  REQUIRE(parsed);
  CHECK(parsed->address == info.address);
  CHECK(parsed->address.name() == "A");
  CHECK(parsed->physical == "127.0.0.1:7800");
  CHECK(!FilePing::parse_node_file(""));
  CHECK(!FilePing::parse_node_file("name=A\nhi=1\n"));
  CHECK(!FilePing::parse_node_file("name=A\nhi=x\nlo=1\nphysical=127.0.0.1:1\n"));
  CHECK(!FilePing::parse_node_file("hi=0\nlo=0\nphysical=127.0.0.1:1\n"));
  CHECK(!FilePing::parse_node_file(std::string(5000, '=')));
}

TEST_CASE("FILE_PING: three members find each other through a folder, files follow membership") {
  TempDir dir;
  std::string cluster = unique_net_cluster("file-ping");
  fs::path folder = dir.path / cluster;
  NetNode a, b, c;
  a.open("A", tcp_file_ping(dir.path));
  b.open("B", tcp_file_ping(dir.path));
  c.open("C", tcp_file_ping(dir.path));
  // Junk in the folder is counted and skipped.
  fs::create_directories(folder);
  std::ofstream(folder / "junk.node") << "not a node file";

  for (auto* n : {&a, &b, &c})
    n->ch->connect(cluster);
  REQUIRE(eventually([&] {
    View v = a.last_view();
    return v.size() == 3 && b.last_view().members() == v.members() &&
           c.last_view().members() == v.members();
  }));
  CHECK(node_files(folder) == 4);
  CHECK(fs::exists(folder / (a.ch->address().uuid_string() + ".node")));
  CHECK(a.stat("FILE_PING", "file_errors") > 0);

  c.ch->send(Address(), Buffer::copy_of(std::string_view("hello")));
  for (auto* n : {&a, &b, &c})
    CHECK(eventually([&] { return n->count_of("hello") == 1; }));

  // Leaving removes the file; a removed file of a live member is written again.
  b.ch->close();
  CHECK(node_files(folder) == 3);
  CHECK(eventually([&] { return a.last_view().size() == 2; }));
  fs::remove(folder / (a.ch->address().uuid_string() + ".node"));
  CHECK(eventually([&] { return fs::exists(folder / (a.ch->address().uuid_string() + ".node")); }));
}

TEST_CASE("FILE_PING: files of crashed members expire after stale_after, live members' stay") {
  TempDir dir;
  std::string cluster = unique_net_cluster("file-ping-stale");
  fs::path folder = dir.path / cluster;
  fs::create_directories(folder);
  // Files left by members killed with SIGKILL: one long ago, one just now. Nothing listens on
  // port 1, so asking them fails quietly; only their age tells they are gone.
  auto crashed_member_file = [&](uint64_t lo, const std::string& name) {
    Address addr(7, lo, name);
    fs::path p = folder / (addr.uuid_string() + ".node");
    std::ofstream(p) << FilePing::format_node_file(MemberInfo{addr, "127.0.0.1:1", 1});
    return p;
  };
  fs::path old_file = crashed_member_file(1, "OLD");
  fs::last_write_time(old_file, fs::file_time_type::clock::now() - std::chrono::hours(1));
  fs::path recent_file = crashed_member_file(2, "RECENT");

  auto stack = [&] {
    auto v = tcp_file_ping(dir.path);
    REQUIRE(v.back()->set_attribute("stale_after", "2s") == "");
    return v;
  };
  NetNode a, b;
  a.open("A", stack());
  b.open("B", stack());
  a.ch->connect(cluster);
  b.ch->connect(cluster);
  REQUIRE(eventually([&] { return a.last_view().size() == 2 && b.last_view().size() == 2; }));
  CHECK(eventually([&] { return !fs::exists(old_file); }));
  CHECK(fs::exists(recent_file));  // refreshed by nobody, but not 2s old yet
  CHECK(eventually([&] { return !fs::exists(recent_file); }));
  // Each file is removed once, by whichever member found it stale first.
  CHECK(eventually([&] {
    return a.stat("FILE_PING", "stale_files_removed") +
               b.stat("FILE_PING", "stale_files_removed") ==
           2;
  }));
  // The live members refresh theirs every interval: both files are there well after 2s.
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  CHECK(eventually([&] { return node_files(folder) == 2; }));
  CHECK(fs::exists(folder / (a.ch->address().uuid_string() + ".node")));
  CHECK(fs::exists(folder / (b.ch->address().uuid_string() + ".node")));
  CHECK(a.last_view().size() == 2);
}

TEST_CASE("FILE_PING: stale_after must leave live members time to refresh their file") {
  auto p = std::make_unique<FilePing>();
  REQUIRE(p->set_attribute("location", "/tmp/x") == "");
  REQUIRE(p->set_attribute("interval", "1s") == "");
  REQUIRE(p->set_attribute("stale_after", "2s") == "");
  ProtocolStack stack(std::make_shared<NullRuntime>());
  stack.add(make_tcp());
  stack.add(std::move(p));
  CHECK_THROWS_WITH_AS(stack.init(), doctest::Contains("stale_after"), std::invalid_argument);
}
