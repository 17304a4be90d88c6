// RocksDB's informational log (the LOG file in the store's directory) written
// by a logger that drops lines it cannot write (private to libs/eventstore).
//
// Why: RocksDB's own file logger, in the Debian build (assertions on), aborts
// the process on the first line after a failed write: on a full disk the
// background-error message itself killed the service
// ("Assertion `sync_without_flush_called_' failed" in WritableFileWriter).
// The store must survive a full disk and resume, so its LOG lines are
// best-effort: written with write(2), errors ignored. The file is rolled to
// LOG.old at open and when it passes 16 MB.
#pragma once

#include <memory>
#include <string>

#include "rocksdb/env.h"

namespace crm::eventstore::internal {

// A logger writing to `dir`/LOG; never fails, never aborts.
std::shared_ptr<rocksdb::Logger> NewBestEffortInfoLog(const std::string& dir);

}  // namespace crm::eventstore::internal
