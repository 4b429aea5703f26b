#pragma once
// Flattening a backing chain (assess() with allow_backing): an Image whose
// ranges that are unallocated in the top image read from the backing image
// (qcow2.txt "Backing file": unallocated clusters read from the backing file;
// beyond the backing file's size they read as zeros).
#include <memory>

#include "imgtool/image.hpp"

namespace imgtool::formats {

// The flattened image: `top` with its unallocated ranges read from `backing`.
// check() is the top image's (assess() checks every image of the chain).
std::shared_ptr<const Image> make_backed_image(std::shared_ptr<const Image> top,
                                               std::shared_ptr<const Image> backing);

}  // namespace imgtool::formats
