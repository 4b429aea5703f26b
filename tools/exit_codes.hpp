#pragma once
// Exit codes of the imgtool CLI. `check` follows qemu-img check where they
// overlap (0 clean, 1 error, 2 corrupt, 3 leaks); "unsafe" has its own code.
#include "imgtool/error.hpp"
#include "imgtool/verdict.hpp"

namespace imgtool::cli {

inline constexpr int kOk = 0;
inline constexpr int kError = 1;        // I/O, invalid image, unsupported feature, anything else
inline constexpr int kCorrupt = 2;      // check: corruptions found
inline constexpr int kLeaks = 3;        // check: only leaked clusters found
inline constexpr int kUnsafe = 4;       // the image refers to other files / is refused as unsafe
inline constexpr int kMismatch = 5;     // verification failed (hash, size, declared format)
inline constexpr int kAuth = 6;         // Keystone refused the credentials
inline constexpr int kHttp = 7;         // Glance/Keystone answered with an error
inline constexpr int kUsage = 64;       // bad command line (EX_USAGE)
inline constexpr int kInterrupted = 130;  // SIGINT/SIGTERM (128 + 2)

inline int exit_code_for(ErrorKind k) {
  switch (k) {
    case ErrorKind::Unsafe: return kUnsafe;
    case ErrorKind::Mismatch: return kMismatch;
    case ErrorKind::Auth: return kAuth;
    case ErrorKind::Http: return kHttp;
    case ErrorKind::Usage: return kUsage;
    case ErrorKind::Interrupted: return kInterrupted;
    default: return kError;
  }
}

// check's exit code for a verdict (convert, publish and inspect refuse on
// the same verdicts and exit with exit_code_for(ErrorKind) of the refusal).
inline int exit_code_for(Verdict v) {
  switch (v) {
    case Verdict::Clean: return kOk;
    case Verdict::Leaks: return kLeaks;
    case Verdict::Corrupt: return kCorrupt;
    case Verdict::Unreadable: return kError;
    case Verdict::Unsafe: return kUnsafe;
  }
  return kError;
}

}  // namespace imgtool::cli
