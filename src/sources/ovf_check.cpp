// An OVA's OVF says what its disk is (capacity, format); the bytes say what it
// really is. A disagreement means a mispackaged appliance (or a swapped disk),
// and whatever the hypervisor or Glance believes would be wrong: refuse.
#include <string>

#include "imgtool/error.hpp"
#include "imgtool/image.hpp"
#include "imgtool/sources.hpp"

namespace imgtool {
namespace {

// The vmdk create type an ovf:format URI names ("...vmdk.html#streamOptimized"),
// empty when the URI names none imgtool knows.
std::string vmdk_subformat_of(const std::string& uri) {
  const size_t hash = uri.rfind('#');
  if (uri.find("vmdk") == std::string::npos || hash == std::string::npos) return {};
  const std::string frag = uri.substr(hash + 1);
  if (frag == "streamOptimized") return "streamOptimized";
  if (frag == "sparse" || frag == "monolithicSparse") return "monolithicSparse";
  if (frag == "compressed") return "streamOptimized";  // the OVF 1.0 spelling
  return {};
}

}  // namespace

void check_ovf_declaration(const Source& src, const ImageInfo& inner) {
  for (const SourceLayer& l : src.layers()) {
    if (l.kind != "ova") continue;
    const std::string who = "the OVF of " + src.name();
    if (l.declared_capacity && *l.declared_capacity != inner.virtual_size)
      throw Error(ErrorKind::Mismatch, src.name(),
                  who + " declares a capacity of " + std::to_string(*l.declared_capacity) + " bytes for " +
                      l.member + ", but the " + std::string(format_name(inner.format)) + " image inside is " +
                      std::to_string(inner.virtual_size) + " bytes");
    const std::string want = vmdk_subformat_of(l.declared_format);
    if (want.empty()) continue;
    std::string have;
    if (inner.format == Format::Vmdk && inner.format_specific_type == "vmdk") {
      if (const InfoNode* ct = inner.format_specific_data.find("create-type")) have = ct->as_string();
    }
    if (have != want)
      throw Error(ErrorKind::Mismatch, src.name(),
                  who + " declares " + l.member + " a " + want + " vmdk, but the bytes are " +
                      (inner.format == Format::Vmdk ? "a " + have + " vmdk"
                                                    : std::string(format_name(inner.format))));
  }
}

}  // namespace imgtool
