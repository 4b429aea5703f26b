// imgtool::publish, top to bottom: prepare (options, the image, its verdict:
// nothing is sent for a refused image) -> body (one read, one hash tee) ->
// every target in parallel (create, upload or import) -> the checks that
// needed the whole source -> verify each target -> protect -> report. Any
// failure after an image exists deletes every image this publish created,
// unless allow_failure keeps the targets that succeeded (no orphans).
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "glance/images_api.hpp"
#include "imgtool/cancel.hpp"
#include "imgtool/checksum.hpp"
#include "imgtool/convert.hpp"
#include "imgtool/error.hpp"
#include "imgtool/glance.hpp"
#include "imgtool/inspect.hpp"
#include "publish/body.hpp"
#include "publish/fanout.hpp"
#include "publish/prepare.hpp"
#include "publish/reuse.hpp"
#include "publish/target.hpp"

namespace imgtool {
namespace {

using nlohmann::json;
using publishing::Target;

// Takes bytes and keeps none: the raw conversion is only hashed.
class NullSink final : public ByteSink {
 public:
  explicit NullSink(std::string name) : name_(std::move(name)) {}
  const std::string& name() const override { return name_; }
  void write(std::span<const std::byte> data) override { pos_ += data.size(); }
  void write_zeros(uint64_t len) override { pos_ += len; }
  uint64_t position() const override { return pos_; }
  void finish() override {}

 private:
  std::string name_;
  uint64_t pos_ = 0;
};

void note(const PublishOptions& o, const std::string& s) {
  if (o.notice) o.notice(s);
}

// --auto-properties: guest facts -> Glance properties; the user's own
// --property values win. Runs after prepare_image(), so an unsafe image never
// reaches libguestfs.
void add_guest_properties(const std::shared_ptr<const ByteSource>& src, Format format, PublishOptions& opts) {
  InspectOptions io;
  io.format = format;
  io.timeout = std::chrono::seconds(opts.inspect_timeout_seconds);
  GuestFacts facts = inspect_guest(src, io);  // the descriptor that is uploaded
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.1f", facts.seconds);
  std::string added;
  for (const auto& [k, v] : glance_properties(facts)) {
    bool user_set = false;
    for (const auto& kv : opts.properties) user_set = user_set || kv.first == k;
    if (user_set) continue;
    opts.properties.emplace_back(k, v);
    added += (added.empty() ? "" : " ") + k + "=" + v;
  }
  note(opts, "guest inspection (libguestfs " + facts.backend + ", " + secs +
                 " s): " + (added.empty() ? std::string("no properties added") : added));
}

// Once the body was produced: the checks that needed the whole source. The
// caller's (publish(spec): the stream read to its end, upstream digests),
// then the driver's walk of a streamed image (deferred so that the stream
// is read once). A refusal throws, and the caller deletes what was uploaded.
void finish_source(const publishing::PreparedImage& prep, const PublishOptions& opts) {
  if (opts.after_body) opts.after_body();
  if (prep.verdict.check_deferred) {
    (void)prep.source->size();  // the stream's end (if the hook did not drain it): the real size
    complete_deferred_check(prep.verdict, prep.source, prep.assess_options).throw_if_refused("upload");
  }
}

// What would be created (a dry run, or before the create's answer).
GlanceImageRecord requested_record(const publishing::PreparedImage& prep, const PublishOptions& opts) {
  GlanceImageRecord r;
  r.name = prep.name;
  r.disk_format = prep.disk_format;
  r.container_format = opts.container_format;
  r.visibility = opts.visibility;
  r.virtual_size = prep.virtual_size;
  r.tags = opts.tags;
  for (const auto& [k, v] : opts.properties) r.properties[k] = v;
  return r;
}

// Runs `fn(i)` for every index on a thread of its own, under the caller's
// cancel token, and waits for all of them.
template <class Fn>
void for_each_parallel(size_t n, Fn fn) {
  if (n == 1) return fn(0);
  std::vector<std::jthread> threads;
  for (size_t i = 0; i < n; ++i)
    threads.emplace_back([&fn, i, token = CancelToken::current()] {
      CancelScope scope(token);
      fn(i);
    });
}

Error as_error(const std::exception& ex, const std::string& path) {
  if (const auto* e = dynamic_cast<const Error*>(&ex)) return *e;
  return Error(ErrorKind::Io, path, ex.what());  // bad_alloc, std::system_error: still an error line
}

// The error of a publish that failed with images in `targets`: each one's
// cleanup appended, one clause per target when there are several.
[[noreturn]] void fail(const Error& e, std::vector<std::unique_ptr<Target>>& targets, const std::string& path,
                       const std::vector<std::string>& target_errors) {
  std::string msg = e.message();
  if (targets.size() == 1) {
    msg += targets[0]->clean_up(e);
  } else {
    for (size_t i = 0; i < targets.size(); ++i) {
      std::string part = target_errors.size() > i ? target_errors[i] : "";
      std::string cleanup = targets[i]->clean_up(e);
      if (part.empty() && cleanup.empty()) continue;
      if (cleanup.rfind("; ", 0) == 0) cleanup = cleanup.substr(2);
      msg += "; [" + targets[i]->label() + "] " + (part.empty() ? "" : part + (cleanup.empty() ? "" : ", ")) +
             cleanup;
    }
  }
  // A signal during the cleanup makes the whole failure an interruption
  // (exit 130), with this message rather than the bare signal name.
  const ErrorKind kind = interrupted() ? ErrorKind::Interrupted : e.kind();
  throw Error(kind, e.path().empty() ? path : e.path(), msg, e.offset());
}

}  // namespace

PublishResult publish(const std::string& path, const PublishOptions& user_opts) {
  CancelScope cancel_scope(user_opts.cancel);
  publishing::validate_publish_options(user_opts);  // before the source is even opened
  std::unique_ptr<Source> src = open_source(path, user_opts.source);
  PublishOptions opts = user_opts;
  if (opts.name.empty()) opts.name = publishing::default_image_name(*src);
  if (!opts.web_download_uri.empty() &&
      (!src->remote() || !src->layers().empty() || src->name() != opts.web_download_uri))
    throw Error(ErrorKind::Usage, path,
                "with --web-download the image must be that URL itself, uncompressed (Glance stores what it "
                "downloads as it is): publish " +
                    opts.web_download_uri + " --web-download " + opts.web_download_uri);
  std::vector<UpstreamCheck> upstream;
  // A stream is read once when the body reads it once: without conversion,
  // or converted to raw; the qcow2 and vmdk writers plan over a first pass
  // when their output cannot seek (an upload), and --reuse-existing hashes
  // the source before the upload.
  const bool single_read = !opts.convert_to || *opts.convert_to == Format::Raw;
  opts.defer_consistency_check = !src->plain_file() && single_read && !opts.reuse_existing;
  std::shared_ptr<const ByteSource> bytes =
      opts.defer_consistency_check ? src->one_pass_access() : src->random_access();
  // The download's own digests, over every byte of it: a mismatch found
  // once the body was sent deletes the image that was just uploaded.
  opts.after_body = [&, user_hook = user_opts.after_body] {
    src->drain();
    upstream = src->finish();
    if (user_hook) user_hook();
  };
  PublishResult r = publish(std::move(bytes), opts);
  r.source_layers = src->layers();
  r.upstream = std::move(upstream);
  r.spool_peak_memory = src->spool_peak_memory();
  r.spool_peak_file = src->spool_peak_file();
  return r;
}

PublishResult publish(std::shared_ptr<const ByteSource> source, const PublishOptions& user_opts) {
  CancelScope cancel_scope(user_opts.cancel);
  const std::string path = source->name();

  // ---- prepare: options, the image and its verdict; nothing sent yet ----
  publishing::PreparedImage prep = publishing::prepare_image(std::move(source), user_opts);
  PublishOptions opts = user_opts;
  if (opts.auto_properties) add_guest_properties(prep.source, prep.image->info().format, opts);
  json body = publishing::create_body(prep, opts);
  const publishing::Body producer = publishing::make_body(prep, opts);
  const bool web_download = !opts.web_download_uri.empty();

  PublishResult r;
  r.request_json = body.dump();
  std::vector<GlanceConnection> conns = opts.targets;
  if (conns.empty()) conns.push_back(opts.connection);
  std::vector<std::unique_ptr<Target>> targets;
  for (const auto& c : conns) {
    GlanceConnection conn = c;
    if (!conn.debug) conn.debug = opts.connection.debug;
    targets.push_back(std::make_unique<Target>(conn, opts));
    targets.back()->result.image = requested_record(prep, opts);
  }

  // A local copy of the image converted to raw, hashed: what Glance's
  // image_conversion import plugin should have produced. Only when the
  // source can be read again.
  publishing::OtherDigests other;
  const bool rereadable = !prep.source->one_pass();
  other.rehash = [&](HashAlgo a) -> std::optional<GlanceDigests> {
    if (producer.converted || !rereadable) return std::nullopt;
    return glance_digests(*prep.source, a);
  };
  std::optional<GlanceDigests> raw_digests;
  other.as_raw = [&]() -> std::optional<GlanceDigests> {
    if (!rereadable || !prep.image->readable()) return std::nullopt;
    if (!raw_digests) {
      NullSink null("raw conversion");
      GlanceHashingSink tee(null);
      ConvertOptions co;
      co.target_format = Format::Raw;
      convert_image(*prep.image, tee, co);
      tee.finish();
      raw_digests = tee.digests();
    }
    return raw_digests;
  };

  // ---- body: produced and hashed once; every upload pulls from the tee ----
  // Returns the digests; the uploads run meanwhile through `upload(i, fan)`.
  // `upload_failure`: set by an upload that failed and stopped everything;
  // it is the failure to report (the producer then only saw the abort).
  auto run_body = [&](size_t consumers, const std::function<void(size_t, publishing::Fanout&)>& upload,
                      const std::exception_ptr* upload_failure = nullptr) {
    publishing::Fanout fan(consumers, [&](uint64_t done) {
      if (opts.progress) opts.progress(done, producer.size);
    });
    GlanceHashingSink tee(fan);
    std::exception_ptr produce_error;
    {
      std::jthread produce([&, token = CancelToken::current()] {
        CancelScope scope(token);
        try {
          producer.produce(tee);
          tee.finish();  // the digests, then the end for every consumer
        } catch (...) {
          produce_error = std::current_exception();
          fan.fail(produce_error);
        }
      });
      if (consumers > 0) for_each_parallel(consumers, [&](size_t i) { upload(i, fan); });
    }
    if (upload_failure && *upload_failure) std::rethrow_exception(*upload_failure);
    if (produce_error) std::rethrow_exception(produce_error);
    return tee.digests();
  };

  if (opts.dry_run) {
    // Everything but the network: the bytes are produced and hashed.
    r.sent = run_body(0, {});
    finish_source(prep, opts);
    r.dry_run = true;
    for (auto& t : targets) {
      t->result.image.size = r.sent.size;
      r.targets.push_back(t->result);
    }
    return r;
  }

  // ---- connect every target: credentials, endpoints, import validation ----
  for (auto& t : targets) t->connect();

  // --reuse-existing: one extra read of the source, so that the digests are
  // known before the upload and each target can be asked for an image that
  // already has them.
  std::vector<bool> reused(targets.size(), false);
  if (opts.reuse_existing) {
    if (producer.converted)
      throw Error(ErrorKind::Usage, path,
                  "--reuse-existing cannot be combined with --convert-to (hash unknown before the upload)");
    GlanceDigests d = glance_digests(*prep.source, HashAlgo::sha512, /*also_sha256=*/true);
    if (opts.after_body) opts.after_body();  // an image is reused only for verified bytes
    // Known up front now: record them like openstacksdk's create_image does.
    publishing::add_owner_specified(body, d, prep.name);
    r.request_json = body.dump();
    for (size_t i = 0; i < targets.size(); ++i) {
      Target& t = *targets[i];
      auto hit = publishing::find_reusable(t.api(), d, prep.disk_format, opts.container_format,
                                           t.session().project_id());
      if (!hit) continue;
      t.result.image = glance::parse_image_record(*hit);
      const std::vector<std::string> unapplied = publishing::unapplied_attributes(*hit, prep, opts);
      if (!unapplied.empty()) {
        std::string list;
        for (const auto& u : unapplied) list += (list.empty() ? "" : ", ") + u;
        note(opts, "reusing image " + t.result.image.id +
                       " of this project, which has the same bytes; not applied to it: " + list +
                       " (publish without --reuse-existing for a new image with them)");
      }
      t.result.reused = true;
      t.result.verified = true;
      t.result.verified_hash_algo = "sha512";
      t.result.verification = "reused: size, checksum, sha512";
      reused[i] = true;
    }
    r.sent = d;
    r.sent.sha256.reset();
  }

  // The targets that get a new image, and each one's failure (allow_failure).
  std::vector<std::unique_ptr<Target>> live;
  std::vector<size_t> live_index;
  for (size_t i = 0; i < targets.size(); ++i)
    if (!reused[i]) {
      live_index.push_back(i);
      live.push_back(std::move(targets[i]));
    }
  std::vector<std::string> errors(live.size());
  auto target_failed = [&](size_t i, const std::exception& ex) {
    const Error e = as_error(ex, path);
    errors[i] = e.message();
  };

  try {
    if (!live.empty()) {
      // ---- create, then upload to every target at once ----
      for (size_t i = 0; i < live.size(); ++i) {
        try {
          live[i]->create(body);
        } catch (const std::exception& ex) {
          if (!opts.allow_failure || live.size() == 1) throw;
          target_failed(i, ex);
        }
      }
      // Content-Length for a body whose size is known; the targets still
      // without an error each read their own copy of the stream.
      std::vector<size_t> uploading;
      for (size_t i = 0; i < live.size(); ++i)
        if (errors[i].empty()) uploading.push_back(i);
      if (web_download) {
        // Glance downloads the URL itself; imgtool reads it once too (the
        // verdict above, the digests now) and verifies the record against it.
        r.sent = run_body(0, {});
      } else {
        std::exception_ptr first_failure;
        std::mutex mu;
        r.sent = run_body(
            uploading.size(),
            [&](size_t k, publishing::Fanout& fan) {
              const size_t i = uploading[k];
              try {
                live[i]->upload([&fan, k](std::span<std::byte> out) { return fan.read(k, out); },
                                producer.size);
              } catch (const std::exception& ex) {
                fan.detach(k);
                std::lock_guard<std::mutex> lk(mu);
                target_failed(i, ex);
                // All or nothing: one failed upload stops the others.
                if (!opts.allow_failure) {
                  if (!first_failure) first_failure = std::current_exception();
                  fan.abort();
                }
              }
            },
            &first_failure);
      }
      finish_source(prep, opts);  // before any image becomes active through an import

      // ---- import (when asked) and verify, each target on its own ----
      const publishing::SentImage sent{r.sent, prep.disk_format, prep.virtual_size};
      std::exception_ptr first_failure;
      std::mutex mu;
      std::vector<size_t> landing;
      for (size_t i = 0; i < live.size(); ++i)
        if (errors[i].empty()) landing.push_back(i);
      if (landing.empty()) throw Error(ErrorKind::Http, path, "no target received the image");
      for_each_parallel(landing.size(), [&](size_t k) {
        const size_t i = landing[k];
        try {
          if (publishing::uses_import(opts)) live[i]->import_and_wait();
          if (!(publishing::uses_import(opts) && opts.no_wait)) {
            std::lock_guard<std::mutex> lk(mu);  // as_raw() is computed once for all targets
            live[i]->verify(sent, other);
          }
        } catch (const std::exception& ex) {
          std::lock_guard<std::mutex> lk(mu);
          target_failed(i, ex);
          if (!opts.allow_failure && !first_failure) first_failure = std::current_exception();
        }
      });
      if (first_failure) std::rethrow_exception(first_failure);
      bool any = false;
      for (const auto& e : errors) any = any || e.empty();
      if (!any) throw Error(ErrorKind::Http, path, "no target holds a verified image");

      // ---- protect, last: a protected image can no longer be deleted ----
      if (opts.protected_image)
        for (size_t i = 0; i < live.size(); ++i)
          if (errors[i].empty()) live[i]->protect();
    }
  } catch (const std::exception& ex) {
    // Anything after an image exists (bad_alloc included) removes every
    // image this publish created (with several targets, each one is named).
    std::vector<std::string> per_target = errors;
    if (live.size() == 1) per_target.clear();
    fail(as_error(ex, path), live, path, per_target);
  }

  // allow_failure: the targets that failed lose their image; the others stay.
  for (size_t i = 0; i < live.size(); ++i) {
    if (errors[i].empty()) continue;
    const Error e(ErrorKind::Http, path, errors[i]);
    live[i]->result.error = errors[i] + live[i]->clean_up(e);
    live[i]->result.verified = false;
    note(opts, "[" + live[i]->label() + "] failed: " + live[i]->result.error);
  }
  for (size_t i = 0; i < live.size(); ++i) targets[live_index[i]] = std::move(live[i]);
  for (auto& t : targets) r.targets.push_back(t->result);
  return r;
}

}  // namespace imgtool
