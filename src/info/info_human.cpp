// `qemu-img info` human output, qemu 7.2 block/qapi.c bdrv_image_info_dump()
// and bdrv_snapshot_dump(). Line order and optional lines follow that code;
// "Format specific information" is dump_qobject(1, data) (info/qobject.cpp).
#include <cstdio>
#include <ctime>

#include "imgtool/cancel.hpp"
#include "imgtool/error.hpp"
#include "imgtool/info.hpp"
#include "info/qobject.hpp"

namespace imgtool {
namespace {

// QEMUSnapshotInfo keeps id_str[128] and name[256]; pstrcpy truncates.
std::string truncated(const std::string& s, size_t cap) {
  std::string_view v = info::c_str_view(s);
  return std::string(v.substr(0, cap - 1));
}

std::string snapshot_line(const SnapshotInfo& s) {
  // g_date_time_new_from_unix_local + "%Y-%m-%d %H:%M:%S": local time.
  char date[64] = "";
  std::time_t t = static_cast<std::time_t>(s.date_sec);
  std::tm tm{};
  if (localtime_r(&t, &tm)) std::strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S", &tm);
  const uint64_t secs = s.vm_clock_nsec / 1000000000u;
  char clock[128];
  std::snprintf(clock, sizeof clock, "%02d:%02d:%02d.%03d", static_cast<int>(secs / 3600),
                static_cast<int>((secs / 60) % 60), static_cast<int>(secs % 60),
                static_cast<int>((s.vm_clock_nsec / 1000000) % 1000));
  std::string icount = s.icount ? std::to_string(*s.icount) : std::string();
  std::string size = size_to_str(s.vm_state_size);
  std::string id = truncated(s.id, 128), name = truncated(s.name, 256);
  // "%-9s %-16s %8s%20s%13s%11s"
  int n = std::snprintf(nullptr, 0, "%-9s %-16s %8s%20s%13s%11s", id.c_str(), name.c_str(), size.c_str(),
                        date, clock, icount.c_str());
  std::string line(static_cast<size_t>(n > 0 ? n : 0) + 1, '\0');
  std::snprintf(line.data(), line.size(), "%-9s %-16s %8s%20s%13s%11s", id.c_str(), name.c_str(),
                size.c_str(), date, clock, icount.c_str());
  line.pop_back();
  return line;
}

}  // namespace

std::string render_info_human(const ImageInfo& info) {
  std::string out;
  out += "image: ";
  out += info::c_str_view(info.filename);
  out += "\nfile format: ";
  out += format_name(info.format);
  out += "\nvirtual size: " + size_to_str(info.virtual_size) + " (" +
         std::to_string(static_cast<int64_t>(info.virtual_size)) + " bytes)\n";
  out +=
      "disk size: " + (info.actual_size ? size_to_str(*info.actual_size) : std::string("unavailable")) + "\n";
  if (info.encrypted) out += "encrypted: yes\n";
  if (info.cluster_size && *info.cluster_size != 0)
    out += "cluster_size: " + std::to_string(static_cast<int64_t>(*info.cluster_size)) + "\n";
  if (info.dirty) out += "cleanly shut down: no\n";
  if (info.backing_filename && !info.backing_filename->empty()) {
    out += "backing file: ";
    out += info::c_str_view(*info.backing_filename);
    if (!info.full_backing_filename) {
      out += " (cannot determine actual path)";
    } else if (info::c_str_view(*info.full_backing_filename) != info::c_str_view(*info.backing_filename)) {
      out += " (actual path: ";
      out += info::c_str_view(*info.full_backing_filename);
      out += ")";
    }
    out += "\n";
    if (info.backing_filename_format && !info.backing_filename_format->empty()) {
      out += "backing file format: ";
      out += info::c_str_view(*info.backing_filename_format);
      out += "\n";
    }
  }
  if (!info.snapshots.empty()) {
    char head[128];
    std::snprintf(head, sizeof head, "%-10s%-17s%8s%20s%13s%11s", "ID", "TAG", "VM SIZE", "DATE", "VM CLOCK",
                  "ICOUNT");
    out += "Snapshot list:\n";
    out += head;
    out += "\n";
    // The count comes from the image (qcow2 allows 65536): poll now and then.
    for (size_t i = 0; i < info.snapshots.size(); ++i) {
      if (i % 1024 == 1023) throw_if_interrupted();
      out += snapshot_line(info.snapshots[i]) + "\n";
    }
  }
  if (!info.format_specific_type.empty()) {
    out += "Format specific information:\n";
    info::append_dump(out, 1, info.format_specific_data);
  }
  return out;
}

std::string render_info_extra_human(const ImageInfo& info) {
  // Same dump style as "Format specific information", under its own title so
  // that everything above it stays byte-identical to qemu-img.
  std::string out = "imgtool:\n";
  // Insertion order is kept here (no QDict: this block is ours).
  auto line = [&](const std::string& k, const std::string& v) { out += "    " + k + ": " + v + "\n"; };
  const std::string_view glance = glance_disk_format(info.format);
  line("glance disk format", glance.empty() ? "(none)" : std::string(glance));
  if (info.detection_only)
    line("detection only", "true (metadata only: imgtool can identify but not read or convert this format)");
  // Names from the image: escaped here, beyond qemu-img's own lines.
  if (!info.named_files.empty()) {
    out += "    named files (opened only through the gate):\n";
    int i = 0;
    for (const auto& f : info.named_files)
      out += "        [" + std::to_string(i++) + "]: " + std::string(to_string(f.role)) + ": " +
             escape_name(f.name) + "\n";
  }
  for (const auto& [k, v] : info.extra.entries()) {
    std::string key = k;
    for (char& c : key)
      if (c == '-') c = ' ';
    if (v.type() == InfoNode::Type::Dict || v.type() == InfoNode::Type::List) {
      out += "    " + key + ":\n";
      info::append_dump(out, 2, v);
    } else {
      std::string s;
      info::append_dump(s, 0, v);
      line(key, s);
    }
  }
  return out;
}

}  // namespace imgtool
