#pragma once
// bounded_iarchive: Boost's binary input archive with one change for hostile input
// (DESIGN.md §4, "never an unbounded allocation"): a string length or collection size larger
// than the whole input is refused (archive_exception) before anything is allocated. Stock
// binary_iarchive resizes to whatever length the bytes claim, so a few forged bytes in a
// client's map command would make every member allocate gigabytes while applying it.
//
// Same byte format as boost::archive::binary_iarchive (reads what binary_oarchive writes).
#include <boost/archive/binary_iarchive_impl.hpp>
#include <boost/archive/detail/register_archive.hpp>
#include <boost/serialization/collection_size_type.hpp>
#include <cstddef>
#include <streambuf>
#include <string>

namespace cohort {

class bounded_iarchive
    : public boost::archive::binary_iarchive_impl<bounded_iarchive, char, std::char_traits<char>> {
  using base = boost::archive::binary_iarchive_impl<bounded_iarchive, char, std::char_traits<char>>;

 public:
  /// Reads from `sb`, which holds `input_bytes` bytes in all.
  bounded_iarchive(std::streambuf& sb, std::size_t input_bytes, unsigned int flags)
      : base(sb, flags), input_bytes_(input_bytes) {
    init(flags);
  }

  using base::load;
  using base::load_override;
  /// A string: its length must fit in the input.
  void load(std::string& s);
  /// A collection's element count: it must fit in the input (one byte per element at least).
  void load_override(boost::serialization::collection_size_type& t);

 private:
  friend class boost::archive::detail::interface_iarchive<bounded_iarchive>;
  friend class boost::archive::basic_binary_iarchive<bounded_iarchive>;
  friend class boost::archive::basic_binary_iprimitive<bounded_iarchive, char,
                                                       std::char_traits<char>>;
  friend class boost::archive::load_access;
  std::size_t input_bytes_;
};

}  // namespace cohort

BOOST_SERIALIZATION_REGISTER_ARCHIVE(cohort::bounded_iarchive)
BOOST_SERIALIZATION_USE_ARRAY_OPTIMIZATION(cohort::bounded_iarchive)
