// imgtool::publish: safety and format checks first (nothing is sent for a
// refused image), then create -> stream + hash -> verify, deleting the image
// on any failure after it exists (no orphans).
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "glance/credentials.hpp"
#include "glance/images_api.hpp"
#include "glance/keystone.hpp"
#include "glance/publish_checks.hpp"
#include "glance/upload_body.hpp"
#include "imgtool/cancel.hpp"
#include "imgtool/checksum.hpp"
#include "imgtool/error.hpp"
#include "imgtool/glance.hpp"
#include "imgtool/inspect.hpp"

namespace imgtool {
namespace {

using nlohmann::json;

void note(const PublishOptions& o, const std::string& s) {
  if (o.notice) o.notice(s);
}

std::optional<uint64_t> opt_u64(const json& j, const char* k) {
  if (j.contains(k) && j[k].is_number_unsigned()) return j[k].get<uint64_t>();
  if (j.contains(k) && j[k].is_number_integer() && j[k].get<int64_t>() >= 0)
    return static_cast<uint64_t>(j[k].get<int64_t>());
  return std::nullopt;
}

std::string str(const json& j, const char* k) {
  return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : std::string();
}

void fill_result(PublishResult& r, const json& im) {
  r.id = str(im, "id");
  r.name = str(im, "name");
  r.status = str(im, "status");
  r.disk_format = str(im, "disk_format");
  r.container_format = str(im, "container_format");
  r.visibility = str(im, "visibility");
  r.size = opt_u64(im, "size");
  r.virtual_size = opt_u64(im, "virtual_size");
  r.checksum = str(im, "checksum");
  r.os_hash_algo = str(im, "os_hash_algo");
  r.os_hash_value = str(im, "os_hash_value");
  r.tags.clear();
  if (im.contains("tags") && im["tags"].is_array())
    for (const auto& t : im["tags"])
      if (t.is_string()) r.tags.push_back(t.get<std::string>());
  static const char* kCore[] = {
      "id",           "name",          "status", "disk_format", "container_format", "visibility", "checksum",
      "os_hash_algo", "os_hash_value", "owner",  "created_at",  "updated_at",       "self",       "file",
      "schema",       "direct_url",    "stores"};
  r.properties.clear();
  for (const auto& [k, v] : im.items()) {
    if (!v.is_string()) continue;
    bool core = false;
    for (const char* c : kCore) core = core || k == c;
    if (!core) r.properties[k] = v.get<std::string>();
  }
}

// Compares what Glance stored with what was sent; throws Error(Mismatch).
void verify(PublishResult& r, const std::string& path, const std::shared_ptr<const ByteSource>& src,
            bool converted, const PublishOptions& opts) {
  std::vector<std::string> diffs;
  if (r.status != "active") diffs.push_back("status: expected active, Glance " + r.status);
  if (!r.size || *r.size != r.sent_bytes)
    diffs.push_back("size: sent " + std::to_string(r.sent_bytes) + ", Glance " +
                    (r.size ? std::to_string(*r.size) : std::string("none")));
  if (r.checksum != r.local_md5)
    diffs.push_back("checksum (md5): sent " + r.local_md5 + ", Glance " +
                    (r.checksum.empty() ? "none" : r.checksum));
  std::string algo = r.os_hash_algo.empty() ? "sha512" : r.os_hash_algo;
  std::string local_hash;
  if (algo == "sha512") {
    local_hash = r.local_sha512;
  } else if (!converted && parse_hash_algo(algo)) {
    note(opts,
         "Glance hashes with " + algo + "; hashing " + path + " again with it to compare os_hash_value");
    local_hash = glance_digests(*src, *parse_hash_algo(algo)).os_hash_value;
  } else {
    note(opts,
         "Glance reports os_hash_algo " + algo +
             ", which imgtool did not compute over the converted stream: verified by size and md5 only");
  }
  if (!local_hash.empty()) {
    if (r.os_hash_value != local_hash)
      diffs.push_back("os_hash_value (" + algo + "): sent " + local_hash + ", Glance " +
                      (r.os_hash_value.empty() ? "none" : r.os_hash_value));
    else
      r.verified_hash_algo = algo;
  }
  if (!diffs.empty()) {
    std::string msg = "Glance image " + r.id + " differs from what was sent: ";
    for (size_t i = 0; i < diffs.size(); ++i) msg += (i ? "; " : "") + diffs[i];
    throw Error(ErrorKind::Mismatch, path, msg);
  }
}

// Once the body went out: the checks that needed the whole source. The
// caller's (publish(spec): the stream read to its end, upstream digests),
// then the driver's walk of a streamed image (deferred so that the stream
// is read once). A refusal
// throws, and the caller's cleanup deletes the uploaded image.
void finish_source(const glance::PreparedImage& prep, const PublishOptions& opts) {
  if (opts.after_body) opts.after_body();  // publish(spec): drains the stream, upstream digests
  if (prep.verdict.check_deferred) {
    (void)prep.source->size();  // the stream's end (if the hook did not drain it): the real size
    complete_deferred_check(prep.verdict, prep.source, prep.assess_options).throw_if_refused("upload");
  }
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

}  // namespace

PublishResult publish(const std::string& path, const PublishOptions& user_opts) {
  CancelScope cancel_scope(user_opts.cancel);
  glance::validate_publish_options(user_opts);  // before the source is even opened
  std::unique_ptr<Source> src = open_source(path, user_opts.source);
  PublishOptions opts = user_opts;
  if (opts.name.empty()) opts.name = glance::default_image_name(*src);
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
  glance::PreparedImage prep =
      glance::prepare_image(std::move(source), user_opts);  // detection + safety first
  PublishOptions opts = user_opts;
  if (opts.auto_properties) add_guest_properties(prep.source, prep.image->info().format, opts);
  json body = glance::create_body(prep, opts);

  PublishResult r;
  r.request_json = body.dump();
  r.name = prep.name;
  r.disk_format = prep.disk_format;
  r.container_format = opts.container_format;
  r.visibility = opts.visibility;

  // raw to raw from a stream whose size is its end: the conversion is the
  // bytes themselves (padded to whole sectors, as the raw writer pads), so
  // they are sent as they arrive instead of being held until the size is known.
  const bool identity = opts.convert_to == Format::Raw && prep.detected_format == Format::Raw &&
                        opts.convert_options.empty() && prep.image->info().virtual_size_pending;
  const bool converted = opts.convert_to.has_value() && !identity;
  auto make_body = [&]() {
    if (identity) return glance::file_body(prep.source, opts.progress, /*release_sent=*/true, /*pad_to=*/512);
    if (converted) {
      ConvertOptions co;
      co.target_format = *opts.convert_to;
      co.options = opts.convert_options;
      return glance::converted_body(prep.image, co, opts.progress);
    }
    return glance::file_body(prep.source, opts.progress, prep.detected_format == Format::Raw);
  };

  if (opts.dry_run) {
    // Everything but the network: the bytes are produced and hashed.
    auto b = make_body();
    std::vector<std::byte> buf(size_t{1} << 20);
    while (b->read(buf) > 0) {
    }
    auto d = b->finish();
    finish_source(prep, opts);
    r.dry_run = true;
    r.sent_bytes = d.bytes;
    r.local_md5 = d.md5;
    r.local_sha512 = d.sha512;
    r.status.clear();  // nothing exists in Glance: null in JSON, "None" in the table
    r.size = d.bytes;
    r.virtual_size = prep.virtual_size;
    return r;
  }

  std::vector<std::string> notes;
  glance::Credentials creds = glance::connection_credentials(opts.connection, notes);
  for (const auto& n : notes) note(opts, n);
  glance::Session session(creds, opts.connection.debug);
  glance::ImagesApi api(session);
  r.endpoint = api.base_url();

  if (opts.reuse_existing) {
    // One extra read of the source: the digests must be known before the
    // upload to ask Glance for an image that already has them.
    if (converted)
      throw Error(ErrorKind::Usage, path,
                  "--reuse-existing cannot be combined with --convert-to (hash unknown before the upload)");
    GlanceDigests d = glance_digests(*prep.source, HashAlgo::sha512, /*also_sha256=*/true);
    if (opts.after_body) opts.after_body();  // an image is reused only for verified bytes
    // Known up front now: record them like openstacksdk's create_image does.
    glance::add_owner_specified(body, d, prep.name);
    r.request_json = body.dump();
    if (auto hit =
            glance::find_reusable(api, d, prep.disk_format, opts.container_format, session.project_id())) {
      fill_result(r, *hit);
      const std::vector<std::string> unapplied = glance::unapplied_attributes(*hit, prep, opts);
      if (!unapplied.empty()) {
        std::string list;
        for (const auto& u : unapplied) list += (list.empty() ? "" : ", ") + u;
        note(opts, "reusing image " + r.id +
                       " of this project, which has the same bytes; not applied to it: " + list +
                       " (publish without --reuse-existing for a new image with them)");
      }
      r.reused = true;
      r.verified = true;
      r.sent_bytes = 0;
      r.local_md5 = d.checksum;
      r.local_sha512 = d.os_hash_value;
      r.verified_hash_algo = "sha512";
      return r;
    }
  }

  throw_if_interrupted();
  // The id is chosen here, so that the cleanup can delete an image whose
  // create was cut or interrupted before Glance's answer arrived.
  const std::string id = glance::ImagesApi::new_image_id();
  body["id"] = id;
  r.request_json = body.dump();

  // Glance answered the create with an error status. Nothing should exist
  // then, but the cleanup still asks (a 5xx may come after the record was
  // written); if it is indeed gone, the error needs no word about it.
  bool create_refused = false;
  try {
    json created;
    try {
      created = api.create(body);
    } catch (const glance::HttpTransportError&) {
      throw;
    } catch (const Error& e) {
      create_refused = e.kind() != ErrorKind::Interrupted;
      throw;
    }
    if (str(created, "id") != id)
      throw Error(ErrorKind::Http, path, "Glance created image " + str(created, "id") + " instead of " + id);
    fill_result(r, created);
    auto b = make_body();
    api.upload(
        id, [&](std::span<std::byte> out) { return b->read(out); }, b->size(), opts.use_import);
    auto d = b->finish();
    r.sent_bytes = d.bytes;
    r.local_md5 = d.md5;
    r.local_sha512 = d.sha512;
    finish_source(prep, opts);
    if (opts.use_import) {
      api.import_staged(id, opts.stores);
      if (!opts.wait) {
        fill_result(r, api.get(id));
        r.verified = false;
        note(opts, "image " + id + " is being imported (status " + r.status +
                       "); not verified: use --wait to wait for active and compare the hashes");
        return r;
      }
      fill_result(r, api.wait_for_status(id, {"active"}, std::chrono::seconds(3600)));
    } else {
      fill_result(r, api.get(id));
    }
    verify(r, path, prep.source, converted, opts);
    r.verified = true;
    // Protected last: a protected image cannot be deleted, so a failure
    // before this point must still be able to remove it.
    if (opts.protected_image) fill_result(r, api.protect(id));
    return r;
  } catch (const std::exception& ex) {
    session.enter_cleanup();  // the interrupt that brought us here must not stop the cleanup
    // Anything after the image exists (including bad_alloc) removes it.
    const Error* err = dynamic_cast<const Error*>(&ex);
    Error e = err != nullptr ? *err : Error(ErrorKind::Io, path, ex.what());
    std::string msg = e.message();
    // The cleanup requests are not cancellable: after the first signal they
    // still run (bounded by their timeouts). A second signal aborts them
    // (http.hpp), and the line then names the image left behind.
    const std::string left_behind = "; a second signal stopped the cleanup: image " + id +
                                    " is left in Glance (delete it with: openstack image delete " + id + ")";
    if (opts.keep_on_error) {
      msg += "; image " + id + " kept (--keep-on-error)";
    } else {
      try {
        // A Glance worker that dies mid-upload leaves the image in "saving"
        // forever (nothing on the server resets it): say so, then delete it.
        const std::string left = api.status_of(id);
        std::string state;
        if (left == "saving" && e.kind() != ErrorKind::Interrupted)
          state = " (Glance had left it in status 'saving', which nothing on the server would ever reset)";
        else if (!left.empty())
          state = " (status " + left + ")";
        if (interrupt_count() > 1) {
          msg += left_behind;
        } else {
          bool existed = api.remove(id);
          if (existed)
            msg += "; image " + id + state + " deleted";
          else if (!create_refused)
            msg += "; image " + id + " does not exist in Glance (never created, or already gone)";
        }
      } catch (const Error& e2) {
        msg += e2.kind() == ErrorKind::Interrupted
                   ? left_behind
                   : "; deleting image " + id + " failed too: " + e2.message();
      }
    }
    // A signal during the cleanup makes the whole failure an interruption
    // (exit 130), with this message rather than the bare signal name.
    const ErrorKind kind = interrupted() ? ErrorKind::Interrupted : e.kind();
    throw Error(kind, e.path().empty() ? path : e.path(), msg, e.offset());
  }
}

}  // namespace imgtool
