// SPDX-License-Identifier: Apache-2.0
// ScopedEnv sets (or unsets) an environment variable for one scope and
// restores what was there, forgetting earlier env warnings so the scope
// sees its own (internal/env.h warns once per variable and value):
//
//   ScopedEnv mode("ZONEALLOC_CPU_CACHE", "rseq");
//   ScopedEnv none("ZONEALLOC_CPU_CACHE", nullptr);  // unset for the scope

#ifndef ZONEALLOC_CORE_TESTING_SCOPED_ENV_H_
#define ZONEALLOC_CORE_TESTING_SCOPED_ENV_H_

#include <cstdlib>
#include <optional>
#include <string>

#include <zonealloc/internal/env.h>

namespace zonealloc::internal {

class ScopedEnv {
 public:
  // `value` nullptr unsets the variable.
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    Set(value);
    ResetEnvWarningsForTesting();
  }
  ~ScopedEnv() { Set(old_.has_value() ? old_->c_str() : nullptr); }

  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  void Set(const char* value) const {
    if (value != nullptr) {
      ::setenv(name_.c_str(), value, /*overwrite=*/1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }

  const std::string name_;
  std::optional<std::string> old_;
};

}  // namespace zonealloc::internal

#endif  // ZONEALLOC_CORE_TESTING_SCOPED_ENV_H_
