#pragma once
// Output of `imgtool publish`: a table like `openstack image show`, or JSON.
#include "imgtool/glance.hpp"

namespace imgtool::cli {

void print_publish_table(const PublishResult& r);
void print_publish_json(const PublishResult& r);

}  // namespace imgtool::cli
