// The relay's semantics on simulated time with a fake transport: grouping, group_wait,
// group_interval, repeat_interval, resolved notifications, deduplication, rate limits, backoff,
// HTTP 429, a full outbox, and an outbox that survives a restart (also mid-delivery).
#include "alerts/dispatcher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "alerts/internal/sqlite.h"
#include "alerts/payloads.h"
#include "testing/fake_clock.h"

namespace voxgate::alerts {
namespace {

using nlohmann::json;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using ::testing::HasSubstr;

class FakeTransport : public Transport {
 public:
  struct Call {
    HttpRequest request;
    std::function<void(HttpResponse)> done;
  };
  void Send(HttpRequest request, std::function<void(HttpResponse)> done) override {
    std::lock_guard lock(mu_);
    calls_.push_back({std::move(request), std::move(done)});
    sent_.push_back(calls_.back().request);
  }
  size_t pending() {
    std::lock_guard lock(mu_);
    return calls_.size();
  }
  // Answers the oldest request on the wire; returns it.
  HttpRequest Reply(int status, std::string body = "", std::string retry_after = "") {
    Call call;
    {
      std::lock_guard lock(mu_);
      EXPECT_FALSE(calls_.empty());
      if (calls_.empty()) return {};
      call = std::move(calls_.front());
      calls_.erase(calls_.begin());
    }
    call.done({status, std::move(body), std::move(retry_after), status == 0 ? "connection refused" : ""});
    return call.request;
  }
  // The process died: requests on the wire never get an answer.
  void Forget() {
    std::lock_guard lock(mu_);
    calls_.clear();
    sent_.clear();
  }
  std::vector<HttpRequest> sent() {
    std::lock_guard lock(mu_);
    return sent_;
  }

 private:
  std::mutex mu_;
  std::vector<Call> calls_;
  std::vector<HttpRequest> sent_;  // every request ever sent
};

constexpr int64_t kWallAnchor = 1'800'000'000'000;

class DispatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("voxgate-alerts-" + std::to_string(::getpid()) + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    options_.destinations = {Destination{"hook", DestinationType::kWebhook, "http://hook.test/secret", 100, 100, milliseconds(1000), ""}};
    Route route;
    route.group_by = {"alertname"};
    route.group_wait = seconds(30);
    route.group_interval = minutes(5);
    route.repeat_interval = hours(4);
    options_.routes = {route};
    options_.seed = 42;
    options_.wall_anchor_ms = kWallAnchor;
  }
  void TearDown() override {
    dispatcher_.reset();
    outbox_.reset();
    std::filesystem::remove_all(dir_);
  }

  void Open() {
    if (dispatcher_ != nullptr) options_.seed++;  // a restarted process draws new notification ids
    dispatcher_.reset();
    outbox_.reset();
    // A restart keeps wall time going: the new dispatcher's anchor is the fake clock's now.
    options_.wall_anchor_ms = kWallAnchor + std::chrono::duration_cast<milliseconds>(clock_.Now() - start_).count();
    auto outbox = Outbox::Open((dir_ / "alerts.db").string());
    ASSERT_TRUE(outbox.ok()) << outbox.status();
    outbox_ = std::move(*outbox);
    dispatcher_ = std::make_unique<Dispatcher>(options_, *outbox_, transport_, clock_);
  }

  Alert Firing(const std::string& name, const std::string& instance, const std::string& severity = "warning") {
    Alert a;
    a.labels = {{"alertname", name}, {"instance", instance}, {"severity", severity}};
    a.annotations = {{"summary", name + " on " + instance}};
    a.starts_at_ms = dispatcher_->NowMs();
    a.source = "alertmanager";
    return a;
  }
  Alert Resolved(Alert a) {
    a.ends_at_ms = dispatcher_->NowMs();
    return a;
  }

  void Submit(std::vector<Alert> alerts) {
    auto r = dispatcher_->Submit(alerts);
    ASSERT_TRUE(r.ok()) << r.status();
  }

  // Moves simulated time forward in steps, running what is due, answering 200 to everything.
  void Advance(core::Duration d, int status = 200) {
    const auto end = clock_.Now() + d;
    while (true) {
      const auto next = dispatcher_->RunDue();
      while (transport_.pending() > 0) {
        transport_.Reply(status);
        dispatcher_->RunDue();
      }
      if (next > end || clock_.Now() >= end) break;
      clock_.Advance(std::max<core::Duration>(next - clock_.Now(), milliseconds(1)));
    }
    if (clock_.Now() < end) clock_.Advance(end - clock_.Now());
    dispatcher_->RunDue();
    while (transport_.pending() > 0 && status != 0) {
      transport_.Reply(status);
      dispatcher_->RunDue();
    }
  }

  // Writes the outbox as an older voxgate left it (`sql`), before Open.
  void WriteOutbox(const std::string& sql) {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open((dir_ / "alerts.db").c_str(), &raw), SQLITE_OK);
    internal::SqlitePtr db(raw);
    ASSERT_TRUE(internal::Exec(db.get(), sql.c_str()).ok());
  }

  std::vector<json> Bodies() {
    std::vector<json> out;
    for (const auto& r : transport_.sent()) out.push_back(json::parse(r.body));
    return out;
  }

  std::filesystem::path dir_;
  DispatcherOptions options_;
  testing::FakeClock clock_;
  const core::TimePoint start_ = clock_.Now();
  FakeTransport transport_;
  std::unique_ptr<Outbox> outbox_;
  std::unique_ptr<Dispatcher> dispatcher_;
};

TEST_F(DispatcherTest, NewGroupWaitsGroupWaitThenOneNotificationForAllItsAlerts) {
  Open();
  Submit({Firing("EngineDown", "a")});
  Advance(seconds(10));
  Submit({Firing("EngineDown", "b"), Firing("QueueFull", "a")});
  Advance(seconds(19));
  EXPECT_TRUE(transport_.sent().empty()) << "group_wait (30 s) has not passed";
  Advance(seconds(2));
  ASSERT_EQ(transport_.sent().size(), 1u) << "EngineDown's group; QueueFull's started 10 s later";
  json n = Bodies()[0];
  EXPECT_EQ(n["status"], "firing");
  EXPECT_EQ(n["group_labels"], json({{"alertname", "EngineDown"}}));
  EXPECT_EQ(n["alerts"].size(), 2u);
  Advance(seconds(10));
  ASSERT_EQ(transport_.sent().size(), 2u);
  EXPECT_EQ(Bodies()[1]["group_labels"], json({{"alertname", "QueueFull"}}));
}

TEST_F(DispatcherTest, ChangesWaitForGroupIntervalAndUnchangedGroupsRepeat) {
  Open();
  Submit({Firing("EngineDown", "a")});
  Advance(seconds(31));
  ASSERT_EQ(transport_.sent().size(), 1u);
  Advance(seconds(10));
  Submit({Firing("EngineDown", "b")});
  Advance(minutes(4));
  EXPECT_EQ(transport_.sent().size(), 1u) << "a change waits for group_interval after the last notification";
  Advance(minutes(1));
  ASSERT_EQ(transport_.sent().size(), 2u);
  EXPECT_EQ(Bodies()[1]["alerts"].size(), 2u);
  // Unchanged and still firing: nothing until repeat_interval (4 h) after the last notification.
  Advance(hours(3) + minutes(50));
  EXPECT_EQ(transport_.sent().size(), 2u);
  Advance(minutes(20));
  ASSERT_EQ(transport_.sent().size(), 3u);
  EXPECT_EQ(Bodies()[2]["alerts"].size(), 2u);
}

TEST_F(DispatcherTest, ResolvedAlertsAreNotifiedOnceThenTheGroupEnds) {
  Open();
  const Alert a = Firing("EngineDown", "a"), b = Firing("EngineDown", "b");
  Submit({a, b});
  Advance(seconds(31));
  ASSERT_EQ(transport_.sent().size(), 1u);
  Submit({Resolved(a)});
  Advance(minutes(5));
  ASSERT_EQ(transport_.sent().size(), 2u) << "some resolved: a notification at the next group_interval";
  json n = Bodies()[1];
  EXPECT_EQ(n["status"], "firing");
  ASSERT_EQ(n["alerts"].size(), 2u);
  EXPECT_EQ(n["alerts"][1]["status"], "resolved");
  EXPECT_EQ(n["alerts"][1]["labels"]["instance"], "a");
  Submit({Resolved(b)});
  Advance(minutes(5));
  ASSERT_EQ(transport_.sent().size(), 3u);
  EXPECT_EQ(Bodies()[2]["status"], "resolved");
  EXPECT_EQ(dispatcher_->Status()["groups"], 0) << "a group with nothing firing ends";
  Advance(hours(5));
  EXPECT_EQ(transport_.sent().size(), 3u);
}

TEST_F(DispatcherTest, AnAlertThatResolvesWithinGroupWaitIsNeverNotified) {
  Open();
  const Alert a = Firing("Blip", "a");
  Submit({a});
  Advance(seconds(5));
  Submit({Resolved(a)});
  Advance(minutes(10));
  EXPECT_TRUE(transport_.sent().empty());
}

TEST_F(DispatcherTest, DuplicatesAndRedeliveredOldInputsAreDeduplicated) {
  Open();
  const Alert a = Firing("EngineDown", "a");
  auto first = dispatcher_->Submit({a});
  auto again = dispatcher_->Submit({a});  // Alertmanager retried after a lost 200
  ASSERT_TRUE(first.ok() && again.ok());
  EXPECT_EQ(first->accepted, 1u);
  EXPECT_EQ(again->deduplicated, 1u);
  Advance(seconds(31));
  ASSERT_EQ(transport_.sent().size(), 1u);
  EXPECT_EQ(Bodies()[0]["alerts"].size(), 1u);
  const Alert resolved = Resolved(a);
  Submit({resolved});
  Advance(minutes(5));
  ASSERT_EQ(transport_.sent().size(), 2u);
  // The firing input arrives again, late: it is older than the resolution the relay notified.
  auto stale = dispatcher_->Submit({a});
  ASSERT_TRUE(stale.ok());
  EXPECT_EQ(stale->deduplicated, 1u);
  Submit({resolved});
  Advance(hours(1));
  EXPECT_EQ(transport_.sent().size(), 2u);
  // It fires again for real (a later start): a new notification.
  Advance(seconds(1));
  Submit({Firing("EngineDown", "a")});
  Advance(seconds(31));
  EXPECT_EQ(transport_.sent().size(), 3u);
}

TEST_F(DispatcherTest, OneShotEventsExpireWithoutAResolvedNotification) {
  Open();
  Alert e = Firing("VoxgateLog", "a", "error");
  e.one_shot = true;
  e.ends_at_ms = e.starts_at_ms + 60000;
  Submit({e});
  Submit({e});
  Advance(seconds(31));
  ASSERT_EQ(transport_.sent().size(), 1u);
  Advance(hours(5));
  EXPECT_EQ(transport_.sent().size(), 1u);
  EXPECT_EQ(dispatcher_->Status()["alerts"], 0);
}

TEST_F(DispatcherTest, RoutesPickDestinationsAndTimings) {
  options_.destinations.push_back({"pager", DestinationType::kWebhook, "http://pager.test/", 100, 100, milliseconds(1000), ""});
  Route critical;
  critical.match = {{"severity", "critical"}};
  critical.destinations = {"pager"};
  critical.group_wait = seconds(0);
  critical.continue_matching = true;
  options_.routes.insert(options_.routes.begin(), critical);
  options_.routes[1].destinations = {"hook"};
  Open();
  Submit({Firing("Down", "a", "critical"), Firing("Slow", "a")});
  Advance(milliseconds(1));
  ASSERT_EQ(transport_.sent().size(), 1u);
  EXPECT_EQ(transport_.sent()[0].url, "http://pager.test/") << "group_wait 0 on the critical route";
  Advance(seconds(31));
  ASSERT_EQ(transport_.sent().size(), 3u) << "continue: the critical alert also takes the next route";
  for (size_t i = 1; i < 3; ++i) EXPECT_EQ(transport_.sent()[i].url, "http://hook.test/secret");
}

TEST_F(DispatcherTest, TheGenericWebhookCarriesAnIdempotencyKey) {
  Open();
  Submit({Firing("EngineDown", "a")});
  Advance(seconds(31));
  ASSERT_EQ(transport_.sent().size(), 1u);
  const HttpRequest r = transport_.sent()[0];
  std::string key;
  for (const auto& [k, v] : r.headers) {
    if (k == "Idempotency-Key") key = v;
  }
  EXPECT_EQ(key.size(), 32u);
  EXPECT_EQ(json::parse(r.body)["id"], key);
}

TEST_F(DispatcherTest, RateLimitPerDestinationIsATokenBucket) {
  options_.destinations[0].rate_per_second = 1.0 / 60;  // 1 a minute
  options_.destinations[0].burst = 2;
  options_.routes[0].group_wait = seconds(0);
  Open();
  Submit({Firing("A", "x"), Firing("B", "x"), Firing("C", "x"), Firing("D", "x")});
  Advance(seconds(1));
  EXPECT_EQ(transport_.sent().size(), 2u) << "the burst";
  Advance(seconds(50));
  EXPECT_EQ(transport_.sent().size(), 2u);
  Advance(seconds(10));
  EXPECT_EQ(transport_.sent().size(), 3u) << "one more token after a minute";
  Advance(seconds(60));
  EXPECT_EQ(transport_.sent().size(), 4u) << "nothing dropped";
}

TEST_F(DispatcherTest, FailuresRetryWithExponentialBackoffAndJitter) {
  options_.routes[0].group_wait = seconds(0);
  options_.initial_backoff = seconds(2);
  options_.max_backoff = seconds(16);
  Open();
  Submit({Firing("A", "x")});
  dispatcher_->RunDue();
  std::vector<core::TimePoint> attempts;
  for (int i = 0; i < 6; ++i) {
    // Run until the next attempt is on the wire, then fail it.
    for (int guard = 0; transport_.pending() == 0 && guard < 100000; ++guard) {
      clock_.Advance(milliseconds(10));
      dispatcher_->RunDue();
    }
    ASSERT_EQ(transport_.pending(), 1u);
    attempts.push_back(clock_.Now());
    transport_.Reply(i % 2 == 0 ? 503 : 0);
  }
  // Gaps: backoff 2, 4, 8, 16, 16 s, each jittered to [half, full].
  const double expected[] = {2, 4, 8, 16, 16};
  for (size_t i = 1; i < attempts.size(); ++i) {
    const double gap = std::chrono::duration<double>(attempts[i] - attempts[i - 1]).count();
    EXPECT_GE(gap, expected[i - 1] / 2 - 0.02) << "attempt " << i;
    EXPECT_LE(gap, expected[i - 1] + 0.02) << "attempt " << i;
  }
  for (int guard = 0; transport_.pending() == 0 && guard < 100000; ++guard) {
    clock_.Advance(milliseconds(10));
    dispatcher_->RunDue();
  }
  transport_.Reply(200);
  EXPECT_EQ(dispatcher_->Status()["undelivered"], 0);
  EXPECT_EQ(transport_.sent().size(), 7u);
}

TEST_F(DispatcherTest, Http429PausesTheDestinationForRetryAfterAndDropsNothing) {
  options_.routes[0].group_wait = seconds(0);
  Open();
  Submit({Firing("A", "x"), Firing("B", "x")});
  dispatcher_->RunDue();
  ASSERT_EQ(transport_.pending(), 1u);
  // Discord's answer: seconds in the body (finer) and the header.
  transport_.Reply(429, R"({"message": "You are being rate limited.", "retry_after": 3.5, "global": false})", "4");
  for (int i = 0; i < 34; ++i) {
    clock_.Advance(milliseconds(100));
    dispatcher_->RunDue();
  }
  EXPECT_EQ(transport_.pending(), 0u) << "paused for 3.5 s: neither notification goes out";
  clock_.Advance(milliseconds(150));
  dispatcher_->RunDue();
  ASSERT_EQ(transport_.pending(), 1u);
  transport_.Reply(200);
  dispatcher_->RunDue();
  ASSERT_EQ(transport_.pending(), 1u);
  transport_.Reply(200);
  EXPECT_EQ(transport_.sent().size(), 3u);
  EXPECT_EQ(dispatcher_->Status()["undelivered"], 0);
  EXPECT_EQ(dispatcher_->Status()["failed"], 0);
}

TEST(RetryAfterTest, BodyAndHeader) {
  EXPECT_EQ(RetryAfterMs({429, R"({"retry_after": 1.25})", "", ""}, kWallAnchor), 1250);
  EXPECT_EQ(RetryAfterMs({429, "", "7", ""}, kWallAnchor), 7000);  // Slack: the header only
  EXPECT_EQ(RetryAfterMs({429, R"({"retry_after": 1500})", "2", ""}, kWallAnchor), 2000) << "an old API's milliseconds: trust the header";
  EXPECT_EQ(RetryAfterMs({429, "", "", ""}, kWallAnchor), 5000);
  EXPECT_EQ(RetryAfterMs({429, "", "999999", ""}, kWallAnchor), 3600 * 1000) << "at most an hour";
}

TEST(RetryAfterTest, HttpDateIsRelativeToNowAndGarbageIsIgnored) {
  // Wed, 21 Oct 2026 07:28:00 GMT is 1792567680 s after the epoch.
  const int64_t now = 1'792'567'680'000 - 90'000;
  EXPECT_EQ(RetryAfterMs({429, "", "Wed, 21 Oct 2026 07:28:00 GMT", ""}, now), 90'000);
  EXPECT_EQ(RetryAfterMs({429, "", "Wed, 21 Oct 2026 07:28:00 GMT", ""}, now + 200'000), 50) << "a date past: at once";
  EXPECT_EQ(RetryAfterMs({429, "", "Wed, 21 Oct 2026 07:28:00 GMT", ""}, now - 86'400'000), 3600 * 1000) << "at most an hour";
  EXPECT_EQ(RetryAfterMs({429, "", " 7 ", ""}, now), 7000) << "surrounding whitespace is fine";
  for (const char* bad : {"0x1A", "7s", "7 seconds", "-3", "1e3", "inf", "Wed, 21 Oct 2026 07:28:00 GMTx", "tomorrow"}) {
    EXPECT_EQ(RetryAfterMs({429, "", bad, ""}, now), 5000) << bad;
  }
}

TEST_F(DispatcherTest, A429ForeverFailsOnceGiveUpAfterHasPassed) {
  options_.routes[0].group_wait = seconds(0);
  options_.give_up_after = minutes(10);
  Open();
  Submit({Firing("A", "x")});
  const auto start = clock_.Now();
  int answers = 0;
  while (clock_.Now() - start < minutes(30) && dispatcher_->Status()["failed"] == 0) {
    dispatcher_->RunDue();
    while (transport_.pending() > 0) {
      transport_.Reply(429, "", "5");
      answers++;
    }
    clock_.Advance(seconds(1));
  }
  EXPECT_EQ(dispatcher_->Status()["failed"], 1) << "rate-limited for give_up_after: failed, not retried forever";
  EXPECT_EQ(dispatcher_->Status()["undelivered"], 0);
  EXPECT_GE(clock_.Now() - start, minutes(10));
  EXPECT_LE(clock_.Now() - start, minutes(10) + seconds(10));
  EXPECT_GE(answers, 100) << "paused 5 s at a time until then";
  const size_t sent = transport_.sent().size();
  Advance(hours(1));
  EXPECT_EQ(transport_.sent().size(), sent);
}

TEST_F(DispatcherTest, AFailingOutboxWriteBacksOffInsteadOfSpinning) {
  options_.routes[0].group_wait = seconds(0);
  Open();
  Submit({Firing("A", "x")});
  // The volume turns read-only: every write fails, the due group stays due.
  ASSERT_TRUE(internal::Exec(outbox_->db(), "PRAGMA query_only = ON").ok());
  core::TimePoint next = dispatcher_->RunDue();
  EXPECT_GE(next, clock_.Now() + seconds(1)) << "not at once again";
  EXPECT_GE(dispatcher_->RunDue(), clock_.Now() + seconds(1)) << "a second call before the retry does not spin either";
  clock_.Advance(next - clock_.Now());
  next = dispatcher_->RunDue();
  EXPECT_GE(next, clock_.Now() + seconds(2)) << "the wait doubles";
  for (int i = 0; i < 10; ++i) {
    clock_.Advance(next - clock_.Now());
    next = dispatcher_->RunDue();
  }
  EXPECT_GE(next, clock_.Now() + seconds(60));
  EXPECT_LE(next, clock_.Now() + seconds(60)) << "at most a minute";
  EXPECT_TRUE(transport_.sent().empty());
  // Writable again: the group is notified at the next retry, and flushing is prompt again after.
  ASSERT_TRUE(internal::Exec(outbox_->db(), "PRAGMA query_only = OFF").ok());
  clock_.Advance(next - clock_.Now());
  dispatcher_->RunDue();
  ASSERT_EQ(transport_.pending(), 1u);
  transport_.Reply(200);
  Submit({Firing("B", "x")});
  dispatcher_->RunDue();
  EXPECT_EQ(transport_.pending(), 1u) << "the backoff was reset by the successful flush";
}

TEST_F(DispatcherTest, UndeliveredNotificationsOfARemovedDestinationFailAtStart) {
  options_.destinations = {Destination{"gone", DestinationType::kWebhook, "http://gone.test/secret", 100, 100, milliseconds(1000), ""}};
  options_.routes[0].group_wait = seconds(0);
  options_.max_undelivered = 2;
  Open();
  Submit({Firing("A", "x"), Firing("B", "x")});
  dispatcher_->RunDue();
  ASSERT_EQ(dispatcher_->Status()["undelivered"], 2);
  transport_.Forget();  // the relay stops with one on the wire
  // Restarted with the destination renamed.
  options_.destinations = {Destination{"hook", DestinationType::kWebhook, "http://hook.test/secret", 100, 100, milliseconds(1000), ""}};
  options_.seed = 43;  // the same seed would make the same notification ids again
  Open();
  EXPECT_EQ(dispatcher_->Status()["undelivered"], 0);
  EXPECT_EQ(dispatcher_->Status()["failed"], 2);
  auto r = dispatcher_->Submit({Firing("C", "x")});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->accepted, 1u);
  Advance(seconds(1));
  ASSERT_EQ(transport_.sent().size(), 1u);
  EXPECT_EQ(transport_.sent()[0].url, "http://hook.test/secret");
}

TEST_F(DispatcherTest, A4xxOtherThan429IsPermanent) {
  options_.routes[0].group_wait = seconds(0);
  Open();
  Submit({Firing("A", "x")});
  dispatcher_->RunDue();
  transport_.Reply(404, R"({"message": "Unknown Webhook", "code": 10015})");
  Advance(hours(1));
  EXPECT_EQ(transport_.sent().size(), 1u);
  EXPECT_EQ(dispatcher_->Status()["failed"], 1);
}

TEST_F(DispatcherTest, AFullOutboxRefusesInputs) {
  options_.max_alerts = 2;
  Open();
  Submit({Firing("A", "x"), Firing("A", "y")});
  auto full = dispatcher_->Submit({Firing("A", "z")});
  ASSERT_FALSE(full.ok());
  EXPECT_TRUE(absl::IsResourceExhausted(full.status()));
  EXPECT_THAT(std::string(full.status().message()), HasSubstr("outbox is full"));
  // Nothing of a refused input is kept (all or nothing).
  EXPECT_EQ(dispatcher_->Status()["alerts"], 2);
}

TEST_F(DispatcherTest, StateSurvivesARestart) {
  Open();
  Submit({Firing("EngineDown", "a")});
  Advance(seconds(10));
  Open();  // a restart: groups and alerts come back from SQLite
  Advance(seconds(19));
  EXPECT_TRUE(transport_.sent().empty());
  Advance(seconds(2));
  ASSERT_EQ(transport_.sent().size(), 1u);
  Open();
  Advance(hours(1));
  EXPECT_EQ(transport_.sent().size(), 1u) << "a delivered notification is not sent again after a restart";
}

// A config with one route, critical alerts to "pager"; the rest take the default route (every
// destination).
void RouteCriticalToThePager(DispatcherOptions& options) {
  options.destinations.push_back({"pager", DestinationType::kWebhook, "http://pager.test/", 100, 100, milliseconds(1000), ""});
  Route critical = options.routes[0];
  critical.match = {{"severity", "critical"}};
  critical.destinations = {"pager"};
  options.routes = {critical};
}

// A resolved alert is recognised by its own labels, whatever group it was in: after a restart
// that groups alerts otherwise (or routes them elsewhere), a redelivered old input of it is old.
TEST_F(DispatcherTest, ARedeliveredOldInputIsRecognisedAfterTheGroupingChanged) {
  Open();
  const Alert a = Firing("EngineDown", "a");
  Submit({a});
  Advance(seconds(31));
  Submit({Resolved(a)});
  Advance(minutes(5));
  ASSERT_EQ(transport_.sent().size(), 2u);  // firing, then resolved
  options_.routes[0].group_by = {"alertname", "instance"};
  Open();
  auto stale = dispatcher_->Submit({a});
  ASSERT_TRUE(stale.ok()) << stale.status();
  EXPECT_EQ(stale->deduplicated, 1u);
  Advance(hours(1));
  EXPECT_EQ(transport_.sent().size(), 2u) << "a resolved alert was notified firing again";
  // It fires again for real (a later start): notified in its new group.
  Submit({Firing("EngineDown", "a")});
  Advance(seconds(31));
  ASSERT_EQ(transport_.sent().size(), 3u);
  EXPECT_EQ(Bodies()[2]["status"], "firing");
}

TEST_F(DispatcherTest, AGroupKeepsItsRouteWhenTheRouteListIsReordered) {
  RouteCriticalToThePager(options_);
  Open();
  const Alert down = Firing("Down", "a", "critical");
  Submit({down});
  Advance(seconds(31));
  ASSERT_EQ(transport_.sent().size(), 1u);
  // A restart with a new route in front: the critical route moved from first to second.
  Route team = options_.routes[0];
  team.match = {{"team", "speech"}};
  team.destinations = {"hook"};
  team.group_wait = seconds(0);
  options_.routes.insert(options_.routes.begin(), team);
  Open();
  Submit({Resolved(down)});
  Advance(minutes(5));
  ASSERT_EQ(transport_.sent().size(), 2u) << "the resolution reaches the group it resolves";
  EXPECT_EQ(transport_.sent()[1].url, "http://pager.test/");
  EXPECT_EQ(Bodies()[1]["status"], "resolved");
  EXPECT_EQ(dispatcher_->Status()["groups"], 0);
  Advance(hours(5));
  EXPECT_EQ(transport_.sent().size(), 2u) << "no repeat of an alert that resolved";
}

TEST_F(DispatcherTest, TheAlertsOfARouteGoneFromTheConfigTakeTheRoutesTheyMatchNow) {
  RouteCriticalToThePager(options_);
  Open();
  const Alert down = Firing("Down", "a", "critical"), gone = Firing("Gone", "b", "critical");
  Submit({down, gone});
  Advance(seconds(31));
  ASSERT_EQ(transport_.sent().size(), 2u);  // a group each, to the pager
  Submit({Resolved(gone)});                 // notified firing, resolved, its resolution not sent yet
  // A restart without the critical route: both alerts take the default route (every
  // destination, the default timings).
  options_.routes.clear();
  Open();
  EXPECT_EQ(dispatcher_->Status()["groups"], 2);
  Advance(seconds(31));
  // What each destination heard after the restart: "alertname status".
  auto heard = [&](const std::string& url) {
    std::vector<std::string> out;
    const auto sent = transport_.sent();
    for (size_t i = 2; i < sent.size(); ++i) {
      if (sent[i].url != url) continue;
      const json body = json::parse(sent[i].body);
      for (const auto& a : body["alerts"]) out.push_back(a["labels"]["alertname"].get<std::string>() + " " + a["status"].get<std::string>());
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  // The firing alert is notified on its new route; the resolution owed is still told.
  EXPECT_THAT(heard("http://hook.test/secret"), ::testing::ElementsAre("Down firing", "Gone resolved"));
  EXPECT_THAT(heard("http://pager.test/"), ::testing::ElementsAre("Down firing", "Gone resolved"));
  Submit({Resolved(down)});
  Advance(minutes(6));
  EXPECT_THAT(heard("http://hook.test/secret"), ::testing::ElementsAre("Down firing", "Down resolved", "Gone resolved"));
  EXPECT_EQ(dispatcher_->Status()["groups"], 0);
}

TEST_F(DispatcherTest, AnOutboxOfTheVersionThatKnewRoutesByIndexIsUpgradedWithItsAlerts) {
  {  // What that version left: schema version 1, a group on route 0 waiting to be notified.
    const std::string v1 = absl::StrCat(R"sql(
      CREATE TABLE alert_groups(id INTEGER PRIMARY KEY, group_key TEXT NOT NULL UNIQUE, route INTEGER NOT NULL,
        labels TEXT NOT NULL, created_at INTEGER NOT NULL, next_flush_at INTEGER NOT NULL,
        last_notified_at INTEGER NOT NULL DEFAULT 0, last_firing TEXT NOT NULL DEFAULT '[]');
      CREATE TABLE alerts(group_id INTEGER NOT NULL, fingerprint TEXT NOT NULL, labels TEXT NOT NULL,
        annotations TEXT NOT NULL, starts_at INTEGER NOT NULL, ends_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
        generator_url TEXT NOT NULL, source TEXT NOT NULL, one_shot INTEGER NOT NULL, PRIMARY KEY(group_id, fingerprint));
      INSERT INTO alert_groups(id, group_key, route, labels, created_at, next_flush_at)
        VALUES(1, '0:{"alertname":"Down"}', 0, '{"alertname":"Down"}', )sql", kWallAnchor, ", ", kWallAnchor + 30000, R"sql();
      INSERT INTO alerts VALUES(1, 'f1', '{"alertname":"Down","instance":"a"}', '{}', )sql", kWallAnchor,
                                        ", 0, ", kWallAnchor, R"sql(, '', 'alertmanager', 0);
      PRAGMA user_version = 1;)sql");
    ASSERT_NO_FATAL_FAILURE(WriteOutbox(v1));
  }
  Open();
  EXPECT_EQ(dispatcher_->Status()["alerts"], 1);
  Advance(seconds(31));
  ASSERT_EQ(transport_.sent().size(), 1u);
  EXPECT_EQ(Bodies()[0]["alerts"][0]["labels"]["instance"], "a");
  EXPECT_EQ(Bodies()[0]["status"], "firing");
}

TEST_F(DispatcherTest, AnOutboxOfTheVersionThatKeptTombstonesByGroupIsUpgradedWithThem) {
  {  // What that version left: schema version 2, one alert resolved in two groups.
    const std::string v2 = absl::StrCat(R"sql(
      CREATE TABLE alert_groups(id INTEGER PRIMARY KEY, group_key TEXT NOT NULL UNIQUE, route_key TEXT NOT NULL,
        labels TEXT NOT NULL, created_at INTEGER NOT NULL, next_flush_at INTEGER NOT NULL,
        last_notified_at INTEGER NOT NULL DEFAULT 0, last_firing TEXT NOT NULL DEFAULT '[]');
      CREATE TABLE tombstones(group_key TEXT NOT NULL, fingerprint TEXT NOT NULL, ends_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL, PRIMARY KEY(group_key, fingerprint));
      INSERT INTO tombstones VALUES('0:{"alertname":"Down"}', 'f1', )sql", kWallAnchor - 2000, ", ", kWallAnchor + 86400000, R"sql();
      INSERT INTO tombstones VALUES('1:{"alertname":"Down"}', 'f1', )sql", kWallAnchor - 1000, ", ", kWallAnchor + 86400000, R"sql();
      PRAGMA user_version = 2;)sql");
    ASSERT_NO_FATAL_FAILURE(WriteOutbox(v2));
  }
  Open();
  auto ends_at = outbox_->TombstoneEndsAt("f1");
  ASSERT_TRUE(ends_at.ok()) << ends_at.status();
  EXPECT_EQ(*ends_at, kWallAnchor - 1000) << "the later resolution of the two";
  EXPECT_EQ(outbox_->TombstoneEndsAt("f2").value(), std::nullopt);
}

// voxgate's own log lines reach the relay in process, unchecked: an engine's error message may
// hold bytes that are not UTF-8.
TEST_F(DispatcherTest, AnAlertWithInvalidUtf8IsStoredAndSentWithTheBytesReplaced) {
  Open();
  Alert bad = Firing("DecoderError", "a");
  bad.labels["message"] = "decoder said \xff\xfe";
  bad.annotations["summary"] = "\xc3";
  Submit({bad});
  Advance(seconds(31));
  ASSERT_EQ(transport_.sent().size(), 1u);
  EXPECT_THAT(Bodies()[0]["alerts"][0]["labels"]["message"].get<std::string>(), HasSubstr("decoder said"));
}

TEST_F(DispatcherTest, ACrashMidDeliveryResendsWithTheSameId) {
  options_.routes[0].group_wait = seconds(0);
  Open();
  Submit({Firing("A", "x")});
  dispatcher_->RunDue();
  ASSERT_EQ(transport_.pending(), 1u);
  const std::string id = json::parse(transport_.sent()[0].body)["id"];
  // The process dies with the request on the wire: no answer ever comes.
  Open();
  transport_.Forget();
  ASSERT_EQ(outbox_->recovered_in_flight().size(), 1u);
  EXPECT_EQ(outbox_->recovered_in_flight()[0].id, id);
  dispatcher_->RunDue();
  ASSERT_EQ(transport_.pending(), 1u);
  EXPECT_EQ(json::parse(transport_.sent()[0].body)["id"], id) << "the receiver can drop the copy by its Idempotency-Key";
  transport_.Reply(200);
  Open();
  dispatcher_->RunDue();
  EXPECT_EQ(transport_.pending(), 0u);
}

TEST_F(DispatcherTest, DiscordAndSlackBodiesAreRenderedFromTheStoredNotification) {
  options_.destinations = {{"discord", DestinationType::kDiscord, "https://discord.test/api/webhooks/1/tok", 100, 100, milliseconds(1000), "relay"},
                           {"slack", DestinationType::kSlack, "https://hooks.slack.test/services/T/B/X", 100, 100, milliseconds(1000), ""}};
  options_.routes[0].group_wait = seconds(0);
  Open();
  Submit({Firing("A", "x", "critical")});
  Advance(milliseconds(10));
  ASSERT_EQ(transport_.sent().size(), 2u);
  EXPECT_EQ(transport_.sent()[0].url, "https://discord.test/api/webhooks/1/tok?wait=true");
  json discord = json::parse(transport_.sent()[0].body);
  EXPECT_EQ(discord["username"], "relay");
  EXPECT_EQ(discord["embeds"][0]["color"], DiscordColour("critical", false));
  json slack = json::parse(transport_.sent()[1].body);
  EXPECT_EQ(slack["blocks"][0]["text"]["text"], "[FIRING:1] A");
}

}  // namespace
}  // namespace voxgate::alerts
