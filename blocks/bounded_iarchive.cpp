#include "blocks/bounded_iarchive.hpp"

#include <boost/archive/archive_exception.hpp>
#include <boost/archive/detail/archive_serializer_map.hpp>
#include <boost/archive/impl/archive_serializer_map.ipp>
#include <boost/archive/impl/basic_binary_iarchive.ipp>
#include <boost/archive/impl/basic_binary_iprimitive.ipp>

namespace cohort {

void bounded_iarchive::load(std::string& s) {
  std::size_t length = 0;
  base::load(length);
  if (length > input_bytes_)
    boost::serialization::throw_exception(
        boost::archive::archive_exception(boost::archive::archive_exception::input_stream_error));
  s.resize(length);
  if (length > 0) load_binary(s.data(), length);
}

void bounded_iarchive::load_override(boost::serialization::collection_size_type& t) {
  base::load_override(t);
  if (static_cast<std::size_t>(t) > input_bytes_)
    boost::serialization::throw_exception(
        boost::archive::archive_exception(boost::archive::archive_exception::input_stream_error));
}

}  // namespace cohort

namespace boost::archive {
template class detail::archive_serializer_map<cohort::bounded_iarchive>;
template class basic_binary_iprimitive<cohort::bounded_iarchive, char, std::char_traits<char>>;
template class basic_binary_iarchive<cohort::bounded_iarchive>;
template class binary_iarchive_impl<cohort::bounded_iarchive, char, std::char_traits<char>>;
}  // namespace boost::archive
