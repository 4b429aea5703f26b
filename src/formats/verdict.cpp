// assess(): the one safety verdict (verdict.hpp). Reads top to bottom:
// detect -> open through the gate -> the driver's walk -> rules that span
// formats -> files the image names (backing chain followed only through the
// gate) -> purpose -> verdict.
#include "imgtool/verdict.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <set>
#include <utility>

#include "formats/ambiguity.hpp"
#include "formats/backed_image.hpp"
#include "formats/driver.hpp"
#include "formats/gate.hpp"
#include "imgtool/cancel.hpp"
#include "imgtool/error.hpp"

namespace imgtool {
namespace {

using formats::Gate;
using formats::GateDecision;

// qemu's own limit on backing chains is far higher; a disk image pipeline
// never needs more, and each link costs an open and a check.
constexpr int kMaxChainDepth = 16;

using FileId = std::pair<dev_t, ino_t>;

std::optional<FileId> file_id(const ByteSource& src) {
  struct stat st {};
  if (src.native_handle() < 0 || ::fstat(src.native_handle(), &st) != 0) return std::nullopt;
  return FileId{st.st_dev, st.st_ino};
}

std::string role_words(FileRole r) {
  switch (r) {
    case FileRole::BackingFile: return "backing file";
    case FileRole::DataFile: return "external data file";
    case FileRole::Extent: return "extent";
    case FileRole::Parent: return "differencing parent";
  }
  return "file";
}

Finding named(const FileRef& ref, Severity s, const std::string& what, Override o = Override::None) {
  const std::string name = ref.name.empty() ? "(unnamed)" : "'" + escape_name(ref.name) + "'";
  return {s, FindingKind::NamedFile, role_words(ref.role) + " " + name + " " + what, ref, o};
}

Verdict verdict_of(const std::vector<Finding>& fs) {
  Severity worst = Severity::Note;
  for (const auto& f : fs) worst = std::max(worst, f.severity);
  switch (worst) {
    case Severity::Note: return Verdict::Clean;
    case Severity::Leak: return Verdict::Leaks;
    case Severity::Corruption: return Verdict::Corrupt;
    case Severity::Unreadable: return Verdict::Unreadable;
    case Severity::Unsafe: return Verdict::Unsafe;
  }
  return Verdict::Unsafe;
}

// An Error thrown while opening: what it says about the image.
Finding open_failure(const Error& e, const Gate& gate) {
  for (const auto& r : gate.records())
    if (!r.error.empty())  // a file the image names was admitted but could not be opened
      return named(r.ref, e.kind() == ErrorKind::Unsafe ? Severity::Unsafe : Severity::Unreadable,
                   "(" + r.path + "): " + r.error);
  return {Severity::Unreadable,
          e.kind() == ErrorKind::Unsupported ? FindingKind::UnsupportedFeature : FindingKind::Malformed,
          format_error_line("", e.offset(), e.message())};
}

class Assessor {
 public:
  explicit Assessor(const AssessOptions& opts) : opts_(opts) {}

  Assessment run(std::shared_ptr<const ByteSource> src, std::optional<Format> forced, int depth) {
    throw_if_interrupted();
    Assessment a;
    a.report.filename = src->name();
    if (auto id = file_id(*src)) seen_.insert(*id);

    const formats::ProbeWindow window = formats::read_probe_window(*src);
    const std::vector<ProbeResult> probes = formats::probe_window(window);
    const Format fmt = forced ? *forced : (probes.empty() ? Format::Raw : probes.front().format);
    a.report.format = fmt;
    std::vector<Finding> cross = formats::ambiguity_findings(window, probes);
    if (window.head.empty())  // no src->size(): a stream would be read to its end for it
      cross.push_back(
          {Severity::Unreadable, FindingKind::Empty, "the file is empty (0 bytes): not a disk image"});

    Gate gate(*src, opts_.gate, opts_.purpose);
    std::shared_ptr<const Image> img;
    try {
      img = formats::open_with_gate(src, fmt, gate);
    } catch (const Error& e) {
      // After a signal, an error is most likely its doing (a system call that
      // returned EINTR), not a fact about the image: no finding from it.
      if (e.kind() == ErrorKind::Interrupted || interrupted() || e.kind() == ErrorKind::Usage) throw;
      if (e.kind() == ErrorKind::Io && gate.records().empty()) throw;  // the image itself cannot be read
      a.report.findings = std::move(cross);
      a.report.findings.push_back(open_failure(e, gate));
      a.verdict = verdict_of(a.report.findings);
      return a;
    }

    throw_if_interrupted();
    CheckReport walk;
    // The formats whose walk reads tables all over the file wait; raw's check
    // reads only the first sectors (Glance's partition-table rules) and is
    // done now, and done again with the rest once the probe's tail is there.
    const bool walk_later = opts_.defer_check && (fmt == Format::Qcow2 || fmt == Format::Vmdk);
    a.check_deferred = walk_later || (opts_.defer_check && window.tail_missing);
    try {
      if (!walk_later) walk = img->check();
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::Interrupted || interrupted() || e.kind() == ErrorKind::Io) throw;
      walk.findings.push_back({Severity::Corruption, FindingKind::Metadata,
                               "the check stopped: " + format_error_line("", e.offset(), e.message())});
    }
    walk.filename = src->name();
    walk.format = fmt;
    // Files the image names first: they decide a refusal before anything the
    // walk found inside the file.
    std::vector<Finding> findings = named_files(a, img, gate, depth);
    for (auto& f : cross) findings.push_back(std::move(f));
    for (auto& f : walk.findings) findings.push_back(std::move(f));
    a.report = std::move(walk);
    a.report.findings = std::move(findings);

    if (opts_.purpose == Purpose::HandOver)
      for (auto& f : a.report.findings)
        if (f.kind == FindingKind::GlanceRule && f.severity < Severity::Unsafe) f.severity = Severity::Unsafe;
    a.image = std::move(img);
    a.verdict = verdict_of(a.report.findings);
    return a;
  }

 private:
  std::vector<Finding> named_files(Assessment& a, std::shared_ptr<const Image>& img, Gate& gate, int depth) {
    std::vector<Finding> out;
    std::set<std::pair<FileRole, std::string>> done;
    for (const FileRef& ref : img->info().named_files) {
      throw_if_interrupted();  // each may open and assess a backing file
      if (!done.insert({ref.role, ref.name}).second) continue;
      if (ref.role == FileRole::BackingFile && opts_.purpose == Purpose::Read && img->readable()) {
        follow_backing(a, out, img, gate, ref, depth);
        continue;
      }
      if (const formats::GateRecord* r = gate.find(ref)) {
        if (!r->decision.admit)
          out.push_back(named(ref, Severity::Unsafe, r->decision.reason, r->decision.override_with));
        else if (r->error.empty())
          a.opened.push_back({ref, r->path});
        continue;
      }
      // Not asked by the driver (nothing reads it): only a name the gate
      // would refuse is a finding.
      const GateDecision d = gate.decide(ref);
      if (!d.admit) out.push_back(named(ref, Severity::Unsafe, d.reason, d.override_with));
    }
    return out;
  }

  // A backing file the gate admits is opened once, assessed like the top
  // image (its findings count), and stacked under it.
  void follow_backing(Assessment& a, std::vector<Finding>& out, std::shared_ptr<const Image>& img, Gate& gate,
                      const FileRef& ref, int depth) {
    const GateDecision d = gate.decide(ref);
    if (!d.admit) {
      out.push_back(named(ref, Severity::Unsafe, d.reason, d.override_with));
      return;
    }
    if (depth + 1 >= kMaxChainDepth) {
      out.push_back(named(ref, Severity::Unsafe,
                          "is " + std::to_string(kMaxChainDepth) + " images deep in a backing chain"));
      return;
    }
    std::shared_ptr<const ByteSource> bsrc;
    try {
      bsrc = gate.open(ref);
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::Interrupted || interrupted()) throw;
      out.push_back(named(ref, e.kind() == ErrorKind::Unsafe ? Severity::Unsafe : Severity::Unreadable,
                          "(" + gate.display_path(ref.name) + "): " + e.message()));
      return;
    }
    if (auto id = file_id(*bsrc); id && seen_.count(*id)) {
      out.push_back(named(ref, Severity::Unsafe, "makes the backing chain loop back to an image in it"));
      return;
    }
    a.opened.push_back({ref, gate.display_path(ref.name)});
    // qemu reads the backing file as the format its header names (a backing
    // format of "raw" must never be probed: that is how a guest-written
    // header gets obeyed); it probes only when none is recorded.
    std::optional<Format> bfmt;
    if (const auto& n = img->info().backing_filename_format) bfmt = format_from_name(*n);
    Assessment sub = run(bsrc, bfmt, depth + 1);
    const std::string prefix = "backing file '" + escape_name(ref.name) + "': ";
    for (Finding f : sub.report.findings) {
      f.message = prefix + f.message;
      out.push_back(std::move(f));
    }
    for (auto& o : sub.opened) a.opened.push_back(std::move(o));
    if (sub.image && sub.image->readable() && !sub.refuses())
      img = formats::make_backed_image(img, sub.image);
    else if (sub.image && !sub.image->readable())
      out.push_back(named(ref, Severity::Unreadable,
                          "is a " + std::string(format_name(sub.image->info().format)) +
                              " image, which imgtool cannot read"));
  }

  const AssessOptions& opts_;
  std::set<FileId> seen_;
};

}  // namespace

std::string_view to_string(Verdict v) noexcept {
  switch (v) {
    case Verdict::Clean: return "clean";
    case Verdict::Leaks: return "leaks";
    case Verdict::Corrupt: return "corrupt";
    case Verdict::Unreadable: return "unreadable";
    case Verdict::Unsafe: return "unsafe";
  }
  return "unsafe";
}

bool Assessment::refuses() const noexcept {
  return verdict == Verdict::Unsafe || verdict == Verdict::Unreadable || verdict == Verdict::Corrupt;
}

const Finding* Assessment::deciding() const noexcept {
  const Finding* best = nullptr;
  for (const auto& f : report.findings)
    if (f.severity > Severity::Note && (!best || f.severity > best->severity)) best = &f;
  return best;
}

void Assessment::throw_if_refused(const std::string& action) const {
  if (!refuses()) return;
  const Finding* f = deciding();
  std::string msg =
      "refusing to " + action + ": " + std::string(to_string(verdict)) + ": " + (f ? f->message : "");
  if (f && f->override_with == Override::ConvertTo)
    msg +=
        "; imgtool convert (or publish --convert-to) reads it through the gate and writes a self-contained "
        "image";
  size_t more = 0;
  for (const auto& g : report.findings) more += g.severity > Severity::Note ? 1 : 0;
  if (more > 1) msg += " (and " + std::to_string(more - 1) + " more: imgtool check lists them)";
  throw Error(verdict == Verdict::Unsafe ? ErrorKind::Unsafe : ErrorKind::Format, report.filename, msg);
}

Assessment assess(std::shared_ptr<const ByteSource> src, const AssessOptions& opts) {
  CancelScope cancel_scope(opts.cancel);
  return Assessor(opts).run(std::move(src), opts.format, 0);
}

namespace {

// The image that was read (opened before the stream ended: a streamOptimized
// vmdk through its markers, a qcow2 without its file size) against the image
// opened again through its tables: where one has data and the other has
// none, the bytes handed on are not the bytes the tables describe.
std::optional<Finding> compare_read_image(const Image& read, const Image& tables) {
  // raw whose size was pending was sent as its bytes, not read through the
  // image: nothing to compare (raw has no tables).
  if (read.info().virtual_size_pending) return std::nullopt;
  const uint64_t vsize = tables.info().virtual_size;
  if (read.info().virtual_size != vsize)
    return Finding{Severity::Corruption, FindingKind::Metadata,
                   "the image read from the stream is " + std::to_string(read.info().virtual_size) +
                       " bytes, its tables describe " + std::to_string(vsize)};
  constexpr uint64_t kStep = uint64_t(1) << 30;
  for (uint64_t off = 0; off < vsize;) {
    throw_if_interrupted();
    const Extent a = read.map(off, std::min(kStep, vsize - off));
    const Extent b = tables.map(off, std::min(a.length, vsize - off));
    if ((a.kind == ExtentKind::Data) != (b.kind == ExtentKind::Data))
      return Finding{Severity::Corruption, FindingKind::Metadata,
                     "guest offset " + std::to_string(off) + " was read from the stream as " +
                         (a.kind == ExtentKind::Data ? "data" : "zeros") + ", but the image's tables say " +
                         (b.kind == ExtentKind::Data ? "data" : "zeros")};
    off += std::min(a.length, b.length);
  }
  return std::nullopt;
}

}  // namespace

Assessment complete_deferred_check(const Assessment& first, std::shared_ptr<const ByteSource> src,
                                   const AssessOptions& opts) {
  if (!first.check_deferred) return first;
  CancelScope cancel_scope(opts.cancel);
  AssessOptions full = opts;
  full.defer_check = false;
  Assessment a = Assessor(full).run(std::move(src), first.report.format, 0);
  if (a.image && first.image && a.image->readable() && first.image->readable()) {
    std::optional<Finding> diff;
    try {
      diff = compare_read_image(*first.image, *a.image);
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::Interrupted || interrupted()) throw;
      diff = Finding{Severity::Corruption, FindingKind::Metadata,
                     "comparing the image read with its tables stopped: " +
                         format_error_line("", e.offset(), e.message())};
    }
    if (diff) {
      a.report.findings.push_back(std::move(*diff));
      a.verdict = verdict_of(a.report.findings);
    }
  }
  if (first.image) a.image = first.image;
  return a;
}

Assessment assess(const std::string& path, const AssessOptions& opts) {
  CancelScope cancel_scope(opts.cancel);
  std::shared_ptr<const ByteSource> src = open_file_source(path);
  return assess(std::move(src), opts);
}

std::string_view override_flag(Override o) noexcept {
  switch (o) {
    case Override::None: return "";
    case Override::AllowBacking: return "--allow-backing";
    case Override::AllowExternalFiles: return "--allow-external-files";
    case Override::ConvertTo: return "--convert-to";
  }
  return "";
}

std::string_view to_string(Severity s) noexcept {
  switch (s) {
    case Severity::Note: return "note";
    case Severity::Leak: return "leak";
    case Severity::Corruption: return "corruption";
    case Severity::Unreadable: return "unreadable";
    case Severity::Unsafe: return "unsafe";
  }
  return "unsafe";
}

std::string_view to_string(FindingKind k) noexcept {
  switch (k) {
    case FindingKind::NamedFile: return "named-file";
    case FindingKind::SeveralFormats: return "several-formats";
    case FindingKind::PartitionTable: return "partition-table";
    case FindingKind::GlanceRule: return "glance-rule";
    case FindingKind::NotADiskImage: return "not-a-disk-image";
    case FindingKind::Malformed: return "malformed";
    case FindingKind::UnsupportedFeature: return "unsupported-feature";
    case FindingKind::Empty: return "empty";
    case FindingKind::Metadata: return "metadata";
    case FindingKind::PastEof: return "past-eof";
    case FindingKind::Overlap: return "overlap";
    case FindingKind::Leak: return "leak";
  }
  return "unknown";
}

std::string_view to_string(FileRole r) noexcept {
  switch (r) {
    case FileRole::BackingFile: return "backing-file";
    case FileRole::DataFile: return "data-file";
    case FileRole::Extent: return "extent";
    case FileRole::Parent: return "parent";
  }
  return "file";
}

}  // namespace imgtool
