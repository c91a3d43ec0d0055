// The relay's persistent state in SQLite: alert groups and their alerts (what the inputs said,
// committed before an input is acknowledged), tombstones of resolved alerts (to recognise a
// redelivered old input), and the outbox of notifications, one row per notification and
// destination with a stable id.
//
// Durability: WAL journal with synchronous=FULL, so a commit is on disk (fsync of the WAL)
// before the sender gets its 2xx, also across a power loss; NORMAL would survive a process
// crash but could lose the last commits to a power cut, and alert traffic is too small for the
// fsync per commit to matter.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "alerts/alert.h"
#include "alerts/internal/sqlite.h"

namespace voxgate::alerts {

struct GroupRow {
  int64_t id = 0;
  std::string key;
  std::string route_key;  // the route's identity (Dispatcher), '' when unknown
  LabelSet labels;
  int64_t created_at_ms = 0;
  int64_t next_flush_at_ms = 0;
  int64_t last_notified_at_ms = 0;     // 0: never notified
  std::set<std::string> last_firing;  // fingerprints firing in the last notification
};

struct StoredAlert {
  std::string fingerprint;
  Alert alert;
};

enum class NotificationState { kPending = 0, kInFlight = 1, kDelivered = 2, kFailed = 3 };

struct NotificationRow {
  int64_t seq = 0;
  std::string id;  // 32 hex digits, the Idempotency-Key
  std::string destination;
  std::string group_key;
  std::string body;  // the notification document (payloads.h)
  NotificationState state = NotificationState::kPending;
  int attempts = 0;  // failed attempts (a 429 is not one)
  int64_t created_at_ms = 0;
  int64_t next_attempt_at_ms = 0;
  int64_t updated_at_ms = 0;
  std::string remote_id;  // what the receiver returned (Discord's message id with ?wait=true)
  std::string last_error;
};

class Outbox {
 public:
  // Opens or creates the database. Notifications left in flight by a crash go back to pending
  // (they are sent again, with the same id): see recovered_in_flight().
  static absl::StatusOr<std::unique_ptr<Outbox>> Open(const std::string& path);

  sqlite3* db() const { return db_.get(); }
  const std::vector<NotificationRow>& recovered_in_flight() const { return recovered_; }

  absl::StatusOr<std::optional<GroupRow>> FindGroup(const std::string& key);
  absl::StatusOr<std::vector<GroupRow>> DueGroups(int64_t now_ms);
  absl::StatusOr<std::vector<GroupRow>> Groups();  // all of them
  absl::StatusOr<std::optional<int64_t>> NextFlushAt();
  absl::Status InsertGroup(GroupRow& group);  // sets group.id
  absl::Status UpdateGroup(const GroupRow& group);
  absl::Status DeleteGroup(int64_t id);

  absl::StatusOr<std::optional<StoredAlert>> GetAlert(int64_t group_id, const std::string& fingerprint);
  absl::StatusOr<std::vector<StoredAlert>> GroupAlerts(int64_t group_id);
  absl::Status PutAlert(int64_t group_id, const StoredAlert& alert, int64_t now_ms);
  absl::Status DeleteAlert(int64_t group_id, const std::string& fingerprint);
  absl::StatusOr<int64_t> CountAlerts();
  absl::StatusOr<int64_t> CountGroups();

  // A resolved alert that was notified: an older input for it is a redelivery. Kept by the
  // alert's fingerprint, not its group's key, which a change of routes or grouping changes.
  absl::StatusOr<std::optional<int64_t>> TombstoneEndsAt(const std::string& fingerprint);
  absl::Status PutTombstone(const std::string& fingerprint, int64_t ends_at_ms, int64_t expires_at_ms);
  absl::Status DeleteTombstone(const std::string& fingerprint);

  absl::Status InsertNotification(const NotificationRow& row);
  // The oldest pending notification for `destination` whose next attempt is due.
  absl::StatusOr<std::optional<NotificationRow>> NextDue(const std::string& destination, int64_t now_ms);
  // When the next pending notification for `destination` is due (nullopt: none pending).
  absl::StatusOr<std::optional<int64_t>> NextAttemptAt(const std::string& destination);
  absl::StatusOr<std::optional<NotificationRow>> GetNotification(const std::string& id);
  absl::Status SetState(const std::string& id, NotificationState state, int attempts, int64_t next_attempt_at_ms,
                        int64_t now_ms, const std::string& remote_id, const std::string& last_error);
  // Pending and in flight, all destinations.
  absl::StatusOr<int64_t> CountUndelivered();
  absl::StatusOr<int64_t> CountUndelivered(const std::string& destination);
  absl::StatusOr<int64_t> CountByState(NotificationState state);
  // Pending and in flight, by destination name.
  absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> UndeliveredByDestination();
  // Marks every pending and in-flight notification of `destination` failed.
  absl::Status FailUndelivered(const std::string& destination, int64_t now_ms, const std::string& last_error);
  // Removes delivered and failed notifications last updated before `before_ms`, and expired
  // tombstones.
  absl::Status Prune(int64_t before_ms, int64_t now_ms);

 private:
  explicit Outbox(internal::SqlitePtr db) : db_(std::move(db)) {}

  internal::SqlitePtr db_;
  std::vector<NotificationRow> recovered_;
};

}  // namespace voxgate::alerts
