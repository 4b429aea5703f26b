#pragma once
// Flattening a backing chain for convert --allow-backing: an Image whose
// ranges that are unallocated in the top image read from the backing image
// (qcow2.txt "Backing file": unallocated clusters read from the backing file;
// beyond the backing file's size they read as zeros).
#include <memory>

#include "imgtool/image.hpp"

namespace imgtool::convert {

std::unique_ptr<Image> make_backed_image(std::unique_ptr<Image> top, std::unique_ptr<Image> backing);

}  // namespace imgtool::convert
