#include "gateway/api_keys.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>

namespace voxgate::gateway {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(ApiKeysTest, Sha256IsTheStandardDigest) {
  // printf %s abc | sha256sum
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(ApiKeysTest, AKnownKeyNamesItsCallerAndPlan) {
  setenv("VOXGATE_API_KEYS_TEST", "from-the-environment", 1);
  auto keys = ApiKeys::FromConfig({{"team-a", "premium", Sha256Hex("secret-a"), ""},
                                   {"team-b", "", "", "VOXGATE_API_KEYS_TEST"}});
  ASSERT_TRUE(keys.ok()) << keys.status();
  auto a = keys->Authenticate("Bearer secret-a");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->name, "team-a");
  EXPECT_EQ(a->plan, "premium");
  auto b = keys->Authenticate("bearer  from-the-environment ");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->name, "team-b");
  EXPECT_EQ(b->plan, "");
}

TEST(ApiKeysTest, MissingMalformedAndUnknownKeysAreUnauthenticated) {
  auto keys = ApiKeys::FromConfig({{"team-a", "", Sha256Hex("secret-a"), ""}});
  ASSERT_TRUE(keys.ok());
  for (const char* header : {"", "secret-a", "Basic c2VjcmV0LWE=", "Bearer ", "Bearer secret-b", "Bearer secret-a2"}) {
    auto caller = keys->Authenticate(header);
    ASSERT_EQ(caller.status().code(), absl::StatusCode::kUnauthenticated) << header;
    EXPECT_THAT(std::string(caller.status().message()), Not(HasSubstr("secret"))) << "never echo a key";
  }
}

TEST(ApiKeysTest, ConfigErrorsAreClear) {
  unsetenv("VOXGATE_API_KEYS_UNSET");
  auto unset = ApiKeys::FromConfig({{"team-a", "", "", "VOXGATE_API_KEYS_UNSET"}});
  EXPECT_THAT(std::string(unset.status().message()), HasSubstr("VOXGATE_API_KEYS_UNSET is not set"));
  auto twice = ApiKeys::FromConfig({{"a", "", Sha256Hex("k"), ""}, {"b", "", Sha256Hex("k"), ""}});
  EXPECT_THAT(std::string(twice.status().message()), HasSubstr("same key"));
}

}  // namespace
}  // namespace voxgate::gateway
