// SPDX-License-Identifier: Apache-2.0
// StripeMutex is a std::mutex with Abseil's thread-safety annotations, for
// the keyspace's stripes.
//
// Why not absl::Mutex: Debian's Abseil is a prebuilt library that
// ThreadSanitizer does not instrument, so it cannot see absl::Mutex order
// two threads' accesses and reports races under a held lock; it does see
// pthread mutexes (its interceptors). core/internal/env.cc makes the same
// choice.

#ifndef ZONEALLOC_EXAMPLES_KVSERVER_STRIPE_MUTEX_H_
#define ZONEALLOC_EXAMPLES_KVSERVER_STRIPE_MUTEX_H_

#include <mutex>

#include "absl/base/thread_annotations.h"

namespace kvserver {

class ABSL_LOCKABLE StripeMutex {
 public:
  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }

 private:
  std::mutex mu_;
};

// Holds a StripeMutex for its scope.
class ABSL_SCOPED_LOCKABLE StripeLock {
 public:
  explicit StripeLock(StripeMutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) { mu_->Lock(); }
  ~StripeLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }
  StripeLock(const StripeLock&) = delete;
  StripeLock& operator=(const StripeLock&) = delete;

 private:
  StripeMutex* const mu_;
};

}  // namespace kvserver

#endif  // ZONEALLOC_EXAMPLES_KVSERVER_STRIPE_MUTEX_H_
