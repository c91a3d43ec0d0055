#include "alerts/outbox.h"

#include <limits>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"

namespace voxgate::alerts {

using internal::Statement;
using nlohmann::json;

namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS alert_groups(
  id INTEGER PRIMARY KEY,
  group_key TEXT NOT NULL UNIQUE,
  route_key TEXT NOT NULL,
  labels TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  next_flush_at INTEGER NOT NULL,
  last_notified_at INTEGER NOT NULL DEFAULT 0,
  last_firing TEXT NOT NULL DEFAULT '[]');
CREATE INDEX IF NOT EXISTS alert_groups_flush ON alert_groups(next_flush_at);
CREATE TABLE IF NOT EXISTS alerts(
  group_id INTEGER NOT NULL,
  fingerprint TEXT NOT NULL,
  labels TEXT NOT NULL,
  annotations TEXT NOT NULL,
  starts_at INTEGER NOT NULL,
  ends_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  generator_url TEXT NOT NULL,
  source TEXT NOT NULL,
  one_shot INTEGER NOT NULL,
  PRIMARY KEY(group_id, fingerprint));
CREATE TABLE IF NOT EXISTS tombstones(
  fingerprint TEXT PRIMARY KEY,
  ends_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS notifications(
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  destination TEXT NOT NULL,
  group_key TEXT NOT NULL,
  body TEXT NOT NULL,
  state INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  remote_id TEXT NOT NULL DEFAULT '',
  last_error TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS notifications_due ON notifications(destination, state, next_attempt_at, seq);
)sql";

// The schema's version (PRAGMA user_version). 2: a group names its route by its key (version 1
// stored the route's index, which a reordered route list makes point elsewhere). 3: a tombstone
// is the alert's, by fingerprint (before, its group's, lost when the grouping changed).
constexpr int kSchemaVersion = 3;

// Brings a version 1 outbox up to date: its groups' routes are unknown (''), so the dispatcher
// routes their alerts again.
constexpr const char* kFromVersion1 = R"sql(
ALTER TABLE alert_groups ADD COLUMN route_key TEXT NOT NULL DEFAULT '';
ALTER TABLE alert_groups DROP COLUMN route;
)sql";

// Brings a version 1 or 2 outbox's tombstones to version 3: one per alert, the latest.
constexpr const char* kFromVersion2 = R"sql(
CREATE TABLE IF NOT EXISTS tombstones(group_key TEXT NOT NULL, fingerprint TEXT NOT NULL, ends_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL);
CREATE TABLE tombstones_by_alert(fingerprint TEXT PRIMARY KEY, ends_at INTEGER NOT NULL, expires_at INTEGER NOT NULL);
INSERT INTO tombstones_by_alert SELECT fingerprint, MAX(ends_at), MAX(expires_at) FROM tombstones GROUP BY fingerprint;
DROP TABLE tombstones;
ALTER TABLE tombstones_by_alert RENAME TO tombstones;
)sql";

// Lines of voxgate's own log reach the relay unchecked: invalid UTF-8 is replaced (dump would throw).
std::string LabelsJson(const LabelSet& labels) { return json(labels).dump(-1, ' ', false, json::error_handler_t::replace); }

LabelSet LabelsFrom(const std::string& text) {
  LabelSet out;
  json doc = json::parse(text, nullptr, false);
  if (!doc.is_object()) return out;
  for (const auto& [k, v] : doc.items()) {
    if (v.is_string()) out[k] = v.get<std::string>();
  }
  return out;
}

constexpr const char* kGroupColumns = "id, group_key, route_key, labels, created_at, next_flush_at, last_notified_at, last_firing";

GroupRow ReadGroup(const Statement& s) {
  GroupRow g;
  g.id = s.Int(0);
  g.key = s.Text(1);
  g.route_key = s.Text(2);
  g.labels = LabelsFrom(s.Text(3));
  g.created_at_ms = s.Int(4);
  g.next_flush_at_ms = s.Int(5);
  g.last_notified_at_ms = s.Int(6);
  json firing = json::parse(s.Text(7), nullptr, false);
  if (firing.is_array()) {
    for (const auto& f : firing) {
      if (f.is_string()) g.last_firing.insert(f.get<std::string>());
    }
  }
  return g;
}

constexpr const char* kAlertColumns = "fingerprint, labels, annotations, starts_at, ends_at, generator_url, source, one_shot";

StoredAlert ReadAlert(const Statement& s) {
  StoredAlert a;
  a.fingerprint = s.Text(0);
  a.alert.labels = LabelsFrom(s.Text(1));
  a.alert.annotations = LabelsFrom(s.Text(2));
  a.alert.starts_at_ms = s.Int(3);
  a.alert.ends_at_ms = s.Int(4);
  a.alert.generator_url = s.Text(5);
  a.alert.source = s.Text(6);
  a.alert.one_shot = s.Int(7) != 0;
  return a;
}

constexpr const char* kNotificationColumns =
    "seq, id, destination, group_key, body, state, attempts, created_at, next_attempt_at, updated_at, remote_id, last_error";

NotificationRow ReadNotification(const Statement& s) {
  NotificationRow n;
  n.seq = s.Int(0);
  n.id = s.Text(1);
  n.destination = s.Text(2);
  n.group_key = s.Text(3);
  n.body = s.Text(4);
  n.state = static_cast<NotificationState>(s.Int(5));
  n.attempts = static_cast<int>(s.Int(6));
  n.created_at_ms = s.Int(7);
  n.next_attempt_at_ms = s.Int(8);
  n.updated_at_ms = s.Int(9);
  n.remote_id = s.Text(10);
  n.last_error = s.Text(11);
  return n;
}

std::string Sql(const char* head, const char* columns, const char* tail) { return std::string(head) + columns + tail; }

absl::StatusOr<int64_t> CountOf(sqlite3* db, const char* sql, const std::string* arg = nullptr) {
  Statement s(db, sql);
  if (arg != nullptr) s.Bind(1, *arg);
  if (!s.Step()) return s.ok() && s.status().ok() ? absl::StatusOr<int64_t>(0) : absl::StatusOr<int64_t>(s.status());
  return s.Int(0);
}

// Creates the tables, or brings those of an older voxgate up to date, in one transaction.
absl::Status Migrate(sqlite3* db) {
  internal::Transaction tx(db);
  if (!tx.begun().ok()) return tx.begun();
  auto version = CountOf(db, "PRAGMA user_version");
  if (!version.ok()) return version.status();
  if (*version > kSchemaVersion) {
    return absl::FailedPreconditionError(absl::StrCat("written by a newer voxgate (schema version ", *version, ", this one knows ",
                                                      kSchemaVersion, "); use that version or a new outbox"));
  }
  if (*version == 1) {
    if (auto s = internal::Exec(db, kFromVersion1); !s.ok()) return s;
  }
  if (*version == 1 || *version == 2) {
    if (auto s = internal::Exec(db, kFromVersion2); !s.ok()) return s;
  }
  if (auto s = internal::Exec(db, kSchema); !s.ok()) return s;
  if (auto s = internal::Exec(db, absl::StrCat("PRAGMA user_version = ", kSchemaVersion).c_str()); !s.ok()) return s;
  return tx.Commit();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Outbox>> Outbox::Open(const std::string& path) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  internal::SqlitePtr db(raw);
  if (rc != SQLITE_OK) {
    return absl::UnavailableError("cannot open the alert outbox " + path + ": " + (raw ? sqlite3_errmsg(raw) : "out of memory"));
  }
  sqlite3_busy_timeout(db.get(), 5000);
  // WAL: readers never block the writer; synchronous=FULL: a commit is durable before an input
  // is acknowledged (see the header).
  for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON"}) {
    if (auto s = internal::Exec(db.get(), pragma); !s.ok()) return absl::UnavailableError("alert outbox " + path + ": " + std::string(s.message()));
  }
  if (auto s = Migrate(db.get()); !s.ok()) return absl::UnavailableError("alert outbox " + path + ": " + std::string(s.message()));
  std::unique_ptr<Outbox> outbox(new Outbox(std::move(db)));
  {
    Statement s(outbox->db(), Sql("SELECT ", kNotificationColumns, " FROM notifications WHERE state = 1 ORDER BY seq").c_str());
    while (s.Step()) outbox->recovered_.push_back(ReadNotification(s));
    if (auto st = s.status(); !st.ok()) return st;
  }
  // A crash while these were on the wire: whether the receiver took them is unknown, so they go
  // out again with the same id (the generic webhook's Idempotency-Key lets it drop the copy).
  if (auto s = Statement(outbox->db(), "UPDATE notifications SET state = 0 WHERE state = 1").Run(); !s.ok()) return s;
  return outbox;
}

absl::StatusOr<std::optional<GroupRow>> Outbox::FindGroup(const std::string& key) {
  Statement s(db(), Sql("SELECT ", kGroupColumns, " FROM alert_groups WHERE group_key = ?").c_str());
  s.Bind(1, key);
  if (s.Step()) return std::optional<GroupRow>(ReadGroup(s));
  if (auto st = s.status(); !st.ok()) return st;
  return std::optional<GroupRow>();
}

absl::StatusOr<std::vector<GroupRow>> Outbox::Groups() { return DueGroups(std::numeric_limits<int64_t>::max()); }

absl::StatusOr<std::vector<GroupRow>> Outbox::DueGroups(int64_t now_ms) {
  Statement s(db(), Sql("SELECT ", kGroupColumns, " FROM alert_groups WHERE next_flush_at <= ? ORDER BY next_flush_at, id").c_str());
  s.Bind(1, now_ms);
  std::vector<GroupRow> out;
  while (s.Step()) out.push_back(ReadGroup(s));
  if (auto st = s.status(); !st.ok()) return st;
  return out;
}

absl::StatusOr<std::optional<int64_t>> Outbox::NextFlushAt() {
  Statement t(db(), "SELECT next_flush_at FROM alert_groups ORDER BY next_flush_at LIMIT 1");
  if (t.Step()) return std::optional<int64_t>(t.Int(0));
  if (auto st = t.status(); !st.ok()) return st;
  return std::optional<int64_t>();
}

absl::Status Outbox::InsertGroup(GroupRow& g) {
  Statement s(db(),
              "INSERT INTO alert_groups(group_key, route_key, labels, created_at, next_flush_at, last_notified_at, last_firing) "
              "VALUES(?, ?, ?, ?, ?, ?, ?)");
  s.Bind(1, g.key).Bind(2, g.route_key).Bind(3, LabelsJson(g.labels)).Bind(4, g.created_at_ms).Bind(5, g.next_flush_at_ms);
  s.Bind(6, g.last_notified_at_ms).Bind(7, json(g.last_firing).dump());
  if (auto st = s.Run(); !st.ok()) return st;
  g.id = sqlite3_last_insert_rowid(db());
  return absl::OkStatus();
}

absl::Status Outbox::UpdateGroup(const GroupRow& g) {
  Statement s(db(), "UPDATE alert_groups SET next_flush_at = ?, last_notified_at = ?, last_firing = ? WHERE id = ?");
  s.Bind(1, g.next_flush_at_ms).Bind(2, g.last_notified_at_ms).Bind(3, json(g.last_firing).dump()).Bind(4, g.id);
  return s.Run();
}

absl::Status Outbox::DeleteGroup(int64_t id) {
  if (auto st = Statement(db(), "DELETE FROM alerts WHERE group_id = ?").Bind(1, id).Run(); !st.ok()) return st;
  return Statement(db(), "DELETE FROM alert_groups WHERE id = ?").Bind(1, id).Run();
}

absl::StatusOr<std::optional<StoredAlert>> Outbox::GetAlert(int64_t group_id, const std::string& fingerprint) {
  Statement s(db(), Sql("SELECT ", kAlertColumns, " FROM alerts WHERE group_id = ? AND fingerprint = ?").c_str());
  s.Bind(1, group_id).Bind(2, fingerprint);
  if (s.Step()) return std::optional<StoredAlert>(ReadAlert(s));
  if (auto st = s.status(); !st.ok()) return st;
  return std::optional<StoredAlert>();
}

absl::StatusOr<std::vector<StoredAlert>> Outbox::GroupAlerts(int64_t group_id) {
  Statement s(db(), Sql("SELECT ", kAlertColumns, " FROM alerts WHERE group_id = ? ORDER BY starts_at, fingerprint").c_str());
  s.Bind(1, group_id);
  std::vector<StoredAlert> out;
  while (s.Step()) out.push_back(ReadAlert(s));
  if (auto st = s.status(); !st.ok()) return st;
  return out;
}

absl::Status Outbox::PutAlert(int64_t group_id, const StoredAlert& a, int64_t now_ms) {
  Statement s(db(),
              "INSERT OR REPLACE INTO alerts(group_id, fingerprint, labels, annotations, starts_at, ends_at, updated_at, "
              "generator_url, source, one_shot) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  s.Bind(1, group_id).Bind(2, a.fingerprint).Bind(3, LabelsJson(a.alert.labels)).Bind(4, LabelsJson(a.alert.annotations));
  s.Bind(5, a.alert.starts_at_ms).Bind(6, a.alert.ends_at_ms).Bind(7, now_ms).Bind(8, a.alert.generator_url).Bind(9, a.alert.source);
  s.Bind(10, int64_t{a.alert.one_shot});
  return s.Run();
}

absl::Status Outbox::DeleteAlert(int64_t group_id, const std::string& fingerprint) {
  return Statement(db(), "DELETE FROM alerts WHERE group_id = ? AND fingerprint = ?").Bind(1, group_id).Bind(2, fingerprint).Run();
}

absl::StatusOr<int64_t> Outbox::CountAlerts() { return CountOf(db(), "SELECT COUNT(*) FROM alerts"); }
absl::StatusOr<int64_t> Outbox::CountGroups() { return CountOf(db(), "SELECT COUNT(*) FROM alert_groups"); }

absl::StatusOr<std::optional<int64_t>> Outbox::TombstoneEndsAt(const std::string& fingerprint) {
  Statement s(db(), "SELECT ends_at FROM tombstones WHERE fingerprint = ?");
  s.Bind(1, fingerprint);
  if (s.Step()) return std::optional<int64_t>(s.Int(0));
  if (auto st = s.status(); !st.ok()) return st;
  return std::optional<int64_t>();
}

absl::Status Outbox::PutTombstone(const std::string& fingerprint, int64_t ends_at_ms, int64_t expires_at_ms) {
  Statement s(db(), "INSERT OR REPLACE INTO tombstones(fingerprint, ends_at, expires_at) VALUES(?, ?, ?)");
  s.Bind(1, fingerprint).Bind(2, ends_at_ms).Bind(3, expires_at_ms);
  return s.Run();
}

absl::Status Outbox::DeleteTombstone(const std::string& fingerprint) {
  return Statement(db(), "DELETE FROM tombstones WHERE fingerprint = ?").Bind(1, fingerprint).Run();
}

absl::Status Outbox::InsertNotification(const NotificationRow& n) {
  Statement s(db(),
              "INSERT INTO notifications(id, destination, group_key, body, state, attempts, created_at, next_attempt_at, updated_at) "
              "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)");
  s.Bind(1, n.id).Bind(2, n.destination).Bind(3, n.group_key).Bind(4, n.body).Bind(5, int64_t{static_cast<int>(n.state)});
  s.Bind(6, int64_t{n.attempts}).Bind(7, n.created_at_ms).Bind(8, n.next_attempt_at_ms).Bind(9, n.created_at_ms);
  return s.Run();
}

absl::StatusOr<std::optional<NotificationRow>> Outbox::NextDue(const std::string& destination, int64_t now_ms) {
  Statement s(db(), Sql("SELECT ", kNotificationColumns,
                        " FROM notifications WHERE destination = ? AND state = 0 AND next_attempt_at <= ? ORDER BY seq LIMIT 1")
                        .c_str());
  s.Bind(1, destination).Bind(2, now_ms);
  if (s.Step()) return std::optional<NotificationRow>(ReadNotification(s));
  if (auto st = s.status(); !st.ok()) return st;
  return std::optional<NotificationRow>();
}

absl::StatusOr<std::optional<int64_t>> Outbox::NextAttemptAt(const std::string& destination) {
  Statement s(db(), "SELECT next_attempt_at FROM notifications WHERE destination = ? AND state = 0 ORDER BY next_attempt_at LIMIT 1");
  s.Bind(1, destination);
  if (s.Step()) return std::optional<int64_t>(s.Int(0));
  if (auto st = s.status(); !st.ok()) return st;
  return std::optional<int64_t>();
}

absl::StatusOr<std::optional<NotificationRow>> Outbox::GetNotification(const std::string& id) {
  Statement s(db(), Sql("SELECT ", kNotificationColumns, " FROM notifications WHERE id = ?").c_str());
  s.Bind(1, id);
  if (s.Step()) return std::optional<NotificationRow>(ReadNotification(s));
  if (auto st = s.status(); !st.ok()) return st;
  return std::optional<NotificationRow>();
}

absl::Status Outbox::SetState(const std::string& id, NotificationState state, int attempts, int64_t next_attempt_at_ms, int64_t now_ms,
                              const std::string& remote_id, const std::string& last_error) {
  Statement s(db(),
              "UPDATE notifications SET state = ?, attempts = ?, next_attempt_at = ?, updated_at = ?, remote_id = ?, last_error = ? "
              "WHERE id = ?");
  s.Bind(1, int64_t{static_cast<int>(state)}).Bind(2, int64_t{attempts}).Bind(3, next_attempt_at_ms).Bind(4, now_ms);
  s.Bind(5, remote_id).Bind(6, last_error).Bind(7, id);
  return s.Run();
}

absl::StatusOr<int64_t> Outbox::CountUndelivered() { return CountOf(db(), "SELECT COUNT(*) FROM notifications WHERE state <= 1"); }

absl::StatusOr<int64_t> Outbox::CountUndelivered(const std::string& destination) {
  return CountOf(db(), "SELECT COUNT(*) FROM notifications WHERE state <= 1 AND destination = ?", &destination);
}

absl::StatusOr<int64_t> Outbox::CountByState(NotificationState state) {
  const std::string value = std::to_string(static_cast<int>(state));
  return CountOf(db(), "SELECT COUNT(*) FROM notifications WHERE state = CAST(? AS INTEGER)", &value);
}

absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> Outbox::UndeliveredByDestination() {
  Statement s(db(), "SELECT destination, COUNT(*) FROM notifications WHERE state <= 1 GROUP BY destination ORDER BY destination");
  std::vector<std::pair<std::string, int64_t>> out;
  while (s.Step()) out.emplace_back(s.Text(0), s.Int(1));
  if (auto st = s.status(); !st.ok()) return st;
  return out;
}

absl::Status Outbox::FailUndelivered(const std::string& destination, int64_t now_ms, const std::string& last_error) {
  Statement s(db(), "UPDATE notifications SET state = 3, updated_at = ?, last_error = ? WHERE destination = ? AND state <= 1");
  s.Bind(1, now_ms).Bind(2, last_error).Bind(3, destination);
  return s.Run();
}

absl::Status Outbox::Prune(int64_t before_ms, int64_t now_ms) {
  if (auto s = Statement(db(), "DELETE FROM notifications WHERE state >= 2 AND updated_at < ?").Bind(1, before_ms).Run(); !s.ok()) return s;
  return Statement(db(), "DELETE FROM tombstones WHERE expires_at < ?").Bind(1, now_ms).Run();
}

}  // namespace voxgate::alerts
