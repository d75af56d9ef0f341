// SPDX-License-Identifier: Apache-2.0
// The adapters' headers in a program built with -fno-exceptions -fno-rtti,
// as many code bases are (core/CMakeLists.txt builds it so): they must
// compile, link and route as in any other program. A plain main(), since
// GoogleTest's own headers follow those flags differently.

#include <cstdio>
#include <map>
#include <memory_resource>
#include <utility>

#include <zonealloc/object_zone.h>
#include <zonealloc/zone.h>
#include <zonealloc/zone_allocator.h>
#include <zonealloc/zone_resource.h>

namespace {

int failures = 0;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "adapters_flags_test: FAILED: %s\n", what);
    ++failures;
  }
}

struct Point {
  int x;
  int y;
};

}  // namespace

int main() {
  using Value = std::pair<const int, int>;
  auto zone = zonealloc::Zone::Create(
      {.name = "flags", .block_size = zonealloc::NodeBlockSize<Value>()});
  if (!zone.ok()) return 2;
  {
    std::map<int, int, std::less<int>, zonealloc::ZoneAllocator<Value>> map{
        zonealloc::ZoneAllocator<Value>(**zone)};
    for (int i = 0; i < 1000; ++i) map[i] = i;
    Check((*zone)->Stats().in_use_blocks == 1000, "a std::map's nodes are zone blocks");

    zonealloc::ZoneResource resource(**zone);
    zonealloc::ZoneResource same(**zone);
    Check(resource.is_equal(same), "two resources over one zone are equal");
    Check(!resource.is_equal(*std::pmr::new_delete_resource()), "and unequal to another");
    std::pmr::map<int, int> pmr_map(&resource);
    for (int i = 0; i < 100; ++i) pmr_map[i] = i;
    Check((*zone)->Stats().in_use_blocks == 1100, "a pmr map's nodes are zone blocks");
  }
  Check((*zone)->Stats().in_use_blocks == 0, "every node went back");

  auto points = zonealloc::ObjectZone<Point>::Create({.name = "points"});
  if (!points.ok()) return 2;
  auto point = points->MakeUnique(Point{1, 2});
  Check(point != nullptr && point->y == 2, "ObjectZone::MakeUnique constructs");
  Check(!zonealloc::ObjectZone<Point>::Create({.name = "small", .block_size = 4}).ok(),
        "a block_size below sizeof(T) is refused");
  return failures == 0 ? 0 : 1;
}
