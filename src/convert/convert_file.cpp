// convert_file(): the safety gate in front of convert(). The source is opened
// without touching any file it names, check() is consulted, and only then are
// other files opened: vmdk extents that check() accepts as living beside the
// descriptor, and (with --allow-backing) a qcow2 backing chain, flattened.
// The output goes through an atomic file; SRC == DST (same inode) is refused.
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <utility>

#include "convert/backed_image.hpp"
#include "imgtool/checksum.hpp"
#include "imgtool/convert.hpp"
#include "imgtool/error.hpp"

namespace imgtool {
namespace {

constexpr int kMaxChainDepth = 16;

using FileId = std::pair<dev_t, ino_t>;

std::optional<FileId> file_id(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return FileId{st.st_dev, st.st_ino};
}

bool contains(const std::string& s, const char* what) {
  return s.find(what) != std::string::npos;
}

// The vmdk reader's wording (src/formats/vmdk_check.cpp) for a descriptor
// whose extent files are plain names in the descriptor's own directory — the
// one external reference convert follows without being asked.
bool is_extent_beside_descriptor(const Finding& f) {
  return contains(f.message, "is a separate file beside the descriptor");
}

// Every descriptor-based vmdk also gets the Glance policy finding
// "createType 'X' keeps data outside the image" (Glance stores only
// monolithicSparse/streamOptimized). For conversion that is the same fact as
// the extent finding, so it is accepted for the descriptor-based create types
// whose extents are separate files, and only together with such extents.
bool is_descriptor_create_type(const Finding& f) {
  static const char* const kTypes[] = {"monolithicFlat", "twoGbMaxExtentSparse", "twoGbMaxExtentFlat", "vmfs",
                                       "vmfsSparse"};
  if (!contains(f.message, "' keeps data outside the image") || f.message.rfind("createType '", 0) != 0)
    return false;
  for (const char* t : kTypes)
    if (f.message.rfind(std::string("createType '") + t + "' ", 0) == 0) return true;
  return false;
}

std::string dir_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::unique_ptr<Image> open_checked(const std::string& path, const OpenOptions& open, bool allow_backing,
                                    int depth, std::set<FileId>& seen) {
  std::optional<FileId> id = file_id(path);
  if (id && !seen.insert(*id).second)
    throw Error(ErrorKind::Unsafe, path, "the backing chain loops back to this file");
  OpenOptions safe = open;
  safe.allow_external_files = false;
  std::unique_ptr<Image> img = open_image(path, safe);
  const ImageInfo& info = img->info();
  if (!img->readable())
    throw Error(
        ErrorKind::Unsupported, path,
        "imgtool detects " + info.format + " images but cannot read their data, so it cannot convert them");

  const bool has_backing = info.backing_filename.has_value();
  CheckReport report = img->check();
  bool external_extents = false, descriptor_type = false;
  for (const Finding& f : report.findings) {
    if (f.kind == FindingKind::Leak) continue;  // wasted space, no harm to data
    if (f.kind == FindingKind::Corruption)
      throw Error(ErrorKind::Format, path, "refusing to convert a corrupt image: " + f.message);
    if (is_extent_beside_descriptor(f)) {
      external_extents = true;
    } else if (info.format == "vmdk" && is_descriptor_create_type(f)) {
      descriptor_type = true;
    } else if (has_backing && contains(f.message, "backing")) {
      // handled below with the backing file name
    } else if (allow_backing && info.format == "qcow2" && contains(f.message, "external data file")) {
      external_extents = true;  // the qcow2 reader opens it only as a plain name beside the image
    } else {
      throw Error(ErrorKind::Unsafe, path, "refusing to convert: " + f.message);
    }
  }

  if (descriptor_type && !external_extents)
    throw Error(ErrorKind::Unsafe, path,
                "refusing to convert: descriptor-based vmdk without separate extents");

  if (has_backing && !allow_backing)
    throw Error(ErrorKind::Unsafe, path,
                "has a backing file '" + *info.backing_filename +
                    "'; convert refuses images that read other files (--allow-backing flattens the chain)");

  if (external_extents) {
    OpenOptions ext = open;
    ext.allow_external_files = true;
    img = open_image(path, ext);
  }
  if (!has_backing) return img;

  if (depth >= kMaxChainDepth)
    throw Error(ErrorKind::Unsafe, path,
                "backing chain deeper than " + std::to_string(kMaxChainDepth) + " images");
  const std::string name = *img->info().backing_filename;
  // qemu reads "proto:..." names as protocols (nbd:, http:, json:): never follow them.
  const auto colon = name.find(':');
  if (name.empty() || (colon != std::string::npos && name.find('/') > colon))
    throw Error(ErrorKind::Unsafe, path, "backing file name '" + name + "' is not a plain file name");
  const std::string resolved = name[0] == '/' ? name : dir_of(path) + "/" + name;
  struct stat st {};
  if (::stat(resolved.c_str(), &st) != 0)
    throw Error(ErrorKind::Io, resolved, std::string("backing file: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw Error(ErrorKind::Unsafe, resolved, "backing file is not a regular file");
  OpenOptions bopen;
  bopen.format = img->info().backing_filename_format.value_or("");
  std::unique_ptr<Image> backing = open_checked(resolved, bopen, allow_backing, depth + 1, seen);
  return convert::make_backed_image(std::move(img), std::move(backing));
}

}  // namespace

std::unique_ptr<Image> open_for_convert(const std::string& src, const OpenOptions& open, bool allow_backing) {
  std::set<FileId> seen;
  return open_checked(src, open, allow_backing, 0, seen);
}

ConvertStats convert_file(const std::string& src, const std::string& dst, const ConvertOptions& opts,
                          const OpenOptions& open) {
  validate_convert_options(opts);
  // Same inode (also through a symlink or a hard link): the output would
  // replace the input while it is read.
  std::optional<FileId> s = file_id(src), d = file_id(dst);
  if (s && d && *s == *d)
    throw Error(ErrorKind::Usage, dst, "the output is the same file as the input '" + src + "'");
  std::unique_ptr<Image> img = open_for_convert(src, open, opts.allow_backing);

  std::unique_ptr<ByteSink> file = create_output_file(
      dst, {.fsync = opts.fsync, .min_size = opts.target_format == "raw" ? img->info().virtual_size : 0});
  if (!opts.checksum) return convert_image(*img, *file, opts);

  // Compressed qcow2 patches its header at the end (docs/convert.md): hash
  // the finished file instead of the stream.
  const bool patches_header = opts.target_format == "qcow2" && opts.compress;
  ConvertStats st;
  if (patches_header) {
    st = convert_image(*img, *file, opts);
    GlanceDigests g = glance_digests_of_file(dst);
    st.md5 = g.checksum;
    st.sha512 = g.os_hash_value;
    return st;
  }
  GlanceHashingSink tee(*file);
  st = convert_image(*img, tee, opts);
  st.md5 = tee.digests().checksum;
  st.sha512 = tee.digests().os_hash_value;
  return st;
}

}  // namespace imgtool
