#pragma once
// The whole public API in one include. Each header also stands alone; this
// one exists for programs that would rather not track which header declares
// what. tests/docs/library_doc_test.sh fails when a public header is missing
// here, so a new header must be added to this list.
#include "imgtool/cancel.hpp"
#include "imgtool/checksum.hpp"
#include "imgtool/convert.hpp"
#include "imgtool/error.hpp"
#include "imgtool/finding.hpp"
#include "imgtool/format.hpp"
#include "imgtool/glance.hpp"
#include "imgtool/image.hpp"
#include "imgtool/info.hpp"
#include "imgtool/info_tree.hpp"
#include "imgtool/inspect.hpp"
#include "imgtool/readside.hpp"
#include "imgtool/sink.hpp"
#include "imgtool/source.hpp"
#include "imgtool/sources.hpp"
#include "imgtool/stream.hpp"
#include "imgtool/verdict.hpp"
#include "imgtool/version.hpp"
