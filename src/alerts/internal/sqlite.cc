#include "alerts/internal/sqlite.h"

namespace voxgate::alerts::internal {

Statement::Statement(sqlite3* db, const char* sql) : db_(db) {
  sqlite3_stmt* raw = nullptr;
  rc_ = sqlite3_prepare_v2(db, sql, -1, &raw, nullptr);
  stmt_.reset(raw);
  if (rc_ != SQLITE_OK) error_ = sqlite3_errmsg(db);
}

Statement& Statement::Bind(int index, int64_t v) {
  if (stmt_) sqlite3_bind_int64(stmt_.get(), index, v);
  return *this;
}

Statement& Statement::Bind(int index, const std::string& v) {
  if (stmt_) sqlite3_bind_text(stmt_.get(), index, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}

bool Statement::Step() {
  if (!stmt_) return false;
  rc_ = sqlite3_step(stmt_.get());
  if (rc_ == SQLITE_ROW) return true;
  if (rc_ != SQLITE_DONE) error_ = sqlite3_errmsg(db_);
  return false;
}

absl::Status Statement::Run() {
  while (Step()) {
  }
  return status();
}

absl::Status Statement::status() const {
  if (!stmt_) return absl::InternalError("sqlite: cannot prepare a statement: " + error_);
  if (rc_ == SQLITE_OK || rc_ == SQLITE_ROW || rc_ == SQLITE_DONE) return absl::OkStatus();
  if (rc_ == SQLITE_FULL) return absl::ResourceExhaustedError("sqlite: the disk is full: " + error_);
  return absl::InternalError("sqlite: " + error_);
}

std::string Statement::Text(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_.get(), column);
  if (text == nullptr) return "";
  return std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(sqlite3_column_bytes(stmt_.get(), column)));
}

absl::Status Exec(sqlite3* db, const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &error) == SQLITE_OK) return absl::OkStatus();
  std::string message = error != nullptr ? error : "unknown error";
  sqlite3_free(error);
  return absl::InternalError("sqlite: " + message);
}

Transaction::Transaction(sqlite3* db) : db_(db), begun_(Exec(db, "BEGIN IMMEDIATE")) {}

Transaction::~Transaction() {
  if (!done_ && begun_.ok()) (void)Exec(db_, "ROLLBACK");
}

absl::Status Transaction::Commit() {
  if (!begun_.ok()) return begun_;
  done_ = true;
  absl::Status s = Exec(db_, "COMMIT");
  if (!s.ok()) (void)Exec(db_, "ROLLBACK");
  return s;
}

}  // namespace voxgate::alerts::internal
