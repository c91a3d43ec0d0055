// A small RAII layer over libsqlite3: a connection, prepared statements and transactions, with
// errors as absl::Status.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace voxgate::alerts::internal {

struct SqliteCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StatementFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using SqlitePtr = std::unique_ptr<sqlite3, SqliteCloser>;

class Statement {
 public:
  Statement(sqlite3* db, const char* sql);
  bool ok() const { return stmt_ != nullptr; }
  const std::string& error() const { return error_; }

  Statement& Bind(int index, int64_t v);
  Statement& Bind(int index, const std::string& v);
  // One row: true while there is a row to read; status() tells an error from the end.
  bool Step();
  absl::Status Run();  // steps to the end
  absl::Status status() const;

  int64_t Int(int column) const { return sqlite3_column_int64(stmt_.get(), column); }
  std::string Text(int column) const;

 private:
  sqlite3* db_;
  std::unique_ptr<sqlite3_stmt, StatementFinalizer> stmt_;
  std::string error_;
  int rc_ = SQLITE_OK;
};

absl::Status Exec(sqlite3* db, const char* sql);

// BEGIN IMMEDIATE (the writer lock at once, so a commit cannot fail on a lock upgrade) ...
// COMMIT; rolled back when destroyed uncommitted.
class Transaction {
 public:
  explicit Transaction(sqlite3* db);
  ~Transaction();
  const absl::Status& begun() const { return begun_; }
  absl::Status Commit();

 private:
  sqlite3* db_;
  absl::Status begun_;
  bool done_ = false;
};

}  // namespace voxgate::alerts::internal
