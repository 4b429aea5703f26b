#pragma once
// A pass-through stream that computes digests of every byte read through it:
// the upstream checksums (--expect-sha256, --checksums) over the bytes exactly
// as downloaded, before any decompression, in the same pass.
#include <memory>
#include <string>
#include <vector>

#include "imgtool/sources.hpp"
#include "imgtool/stream.hpp"

namespace imgtool::sources {

class DigestStream final : public ByteStream {
 public:
  DigestStream(std::unique_ptr<ByteStream> inner, std::vector<DigestAlgorithm> algorithms);
  ~DigestStream() override;

  const std::string& name() const override;
  size_t read(std::span<std::byte> out) override;
  std::optional<uint64_t> size_hint() const override;
  uint64_t position() const override;

  // Reads (and hashes) the rest of the stream, then returns the lowercase hex
  // digest of every byte for `a` (one of the algorithms given).
  std::string finish(DigestAlgorithm a);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

std::string_view to_string(DigestAlgorithm a) noexcept;  // "md5", "sha256", "sha512"

}  // namespace imgtool::sources
