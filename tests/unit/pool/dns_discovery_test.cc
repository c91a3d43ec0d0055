#include "pool/dns_discovery.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "pool/pool.h"

namespace voxgate::pool {
namespace {

using ::testing::Contains;
using ::testing::UnorderedElementsAre;

// A pool with no engines of its own and a DNS name whose records the test sets.
class DnsDiscoveryTest : public ::testing::Test {
 protected:
  void TearDown() override { pool_->Stop(); }

  std::vector<std::string> Addresses() {
    std::vector<std::string> out;
    for (const auto& e : pool_->EngineStatuses()) out.push_back(e.address);
    return out;
  }

  absl::StatusOr<std::vector<std::string>> records_;
  std::shared_ptr<Pool> pool_ = [] {
    Pool::Options options;
    options.name = "dns";
    return std::make_shared<Pool>(options, std::vector<std::shared_ptr<rpc::RemoteSpeechService>>{});
  }();
  DnsDiscovery discovery_{"engines.voxgate.svc:7003", std::chrono::seconds(10), *pool_,
                          [this](const std::string& host, int port) -> absl::StatusOr<std::vector<std::string>> {
                            EXPECT_EQ(host, "engines.voxgate.svc");
                            EXPECT_EQ(port, 7003);
                            return records_;
                          }};
};

TEST_F(DnsDiscoveryTest, EnginesFollowTheRecords) {
  records_ = std::vector<std::string>{"10.0.0.1:7003", "10.0.0.2:7003"};
  ASSERT_TRUE(discovery_.Refresh().ok());
  EXPECT_THAT(Addresses(), UnorderedElementsAre("10.0.0.1:7003", "10.0.0.2:7003"));
  EXPECT_EQ(pool_->healthy_engines(), 0);  // found is not healthy: nothing is checked yet

  records_ = std::vector<std::string>{"10.0.0.2:7003", "[fd00::3]:7003"};  // a pod replaced
  ASSERT_TRUE(discovery_.Refresh().ok());
  EXPECT_THAT(Addresses(), UnorderedElementsAre("10.0.0.2:7003", "[fd00::3]:7003"));

  records_ = absl::UnavailableError("DNS server down");  // keeps what it knows
  EXPECT_FALSE(discovery_.Refresh().ok());
  EXPECT_THAT(Addresses(), UnorderedElementsAre("10.0.0.2:7003", "[fd00::3]:7003"));

  records_ = std::vector<std::string>{};  // no ready pod at all
  ASSERT_TRUE(discovery_.Refresh().ok());
  EXPECT_TRUE(Addresses().empty());

  records_ = std::vector<std::string>{"10.0.0.1:7003"};  // one back: an engine again
  ASSERT_TRUE(discovery_.Refresh().ok());
  EXPECT_THAT(Addresses(), UnorderedElementsAre("10.0.0.1:7003"));
}

TEST(ResolveWithSystemTest, ResolvesAHostsFileName) {
  auto addresses = ResolveWithSystem("localhost", 7003);
  ASSERT_TRUE(addresses.ok()) << addresses.status();
  EXPECT_THAT(*addresses, Contains("127.0.0.1:7003"));
}

}  // namespace
}  // namespace voxgate::pool
