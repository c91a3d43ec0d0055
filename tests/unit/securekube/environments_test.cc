#include "securekube/environments.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace voxgate::securekube {
namespace {

using ::testing::HasSubstr;

constexpr const char* kGood = R"(
environments:
  dev:
    context: kind-dev
    namespace: voxgate-dev
    protection: none
  staging:
    context: gke_acme_staging
    namespace: voxgate
  prod:
    context: gke_acme_prod
    namespace: voxgate
    kubeconfig: ~/.kube/prod.yaml
    protection: locked
  lab:
    context: lab
    namespace: lab
    kubeconfig: lab/kubeconfig
    protection: confirm
)";

TEST(EnvironmentsTest, ParsesEveryFieldInFileOrder) {
  absl::StatusOr<Environments> envs = ParseEnvironments(kGood, "/etc/sk/environments.yaml", "/home/ann");
  ASSERT_TRUE(envs.ok()) << envs.status();
  ASSERT_EQ(envs->list.size(), 4u);
  EXPECT_EQ(envs->list[0].name, "dev");
  EXPECT_EQ(envs->list[0].context, "kind-dev");
  EXPECT_EQ(envs->list[0].kube_namespace, "voxgate-dev");
  EXPECT_EQ(envs->list[0].protection, Protection::kNone);
  EXPECT_EQ(envs->list[0].kubeconfig, "");
  // Protection defaults to confirm: forgetting it never leaves an environment open.
  EXPECT_EQ(envs->Find("staging")->protection, Protection::kConfirm);
  EXPECT_EQ(envs->Find("prod")->protection, Protection::kLocked);
  EXPECT_EQ(envs->Find("prod")->kubeconfig, "/home/ann/.kube/prod.yaml");
  // Relative kubeconfig paths are from the environments file's folder, not the working directory.
  EXPECT_EQ(envs->Find("lab")->kubeconfig, "/etc/sk/lab/kubeconfig");
  EXPECT_EQ(envs->Find("nope"), nullptr);
}

struct BadFile {
  std::string name;
  std::string yaml;
  std::string message;  // a part of the error
};

void PrintTo(const BadFile& f, std::ostream* os) { *os << f.name; }

class EnvironmentsErrorTest : public ::testing::TestWithParam<BadFile> {};

TEST_P(EnvironmentsErrorTest, IsOneClearError) {
  absl::StatusOr<Environments> envs = ParseEnvironments(GetParam().yaml, "envs.yaml", "/home/ann");
  ASSERT_FALSE(envs.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(envs.status()));
  EXPECT_THAT(std::string(envs.status().message()), HasSubstr(GetParam().message));
  EXPECT_THAT(std::string(envs.status().message()), HasSubstr("envs.yaml"));
}

INSTANTIATE_TEST_SUITE_P(
    Files, EnvironmentsErrorTest,
    ::testing::Values(
        BadFile{"Empty", "", "the file is empty"},
        BadFile{"OnlyComment", "# nothing\n", "the file is empty"},
        BadFile{"NotYaml", "environments: [a, b\n", "not valid YAML"},
        BadFile{"TopLevelList", "- a\n- b\n", "expected a mapping"},
        BadFile{"UnknownTopLevel", "environments:\n  a: {context: c, namespace: n}\nextra: 1\n",
                "envs.yaml:3: unknown top-level key 'extra'"},
        BadFile{"NoEnvironments", "environments: {}\n", "must be a mapping of environment names"},
        BadFile{"EnvironmentsList", "environments: [a]\n", "must be a mapping of environment names"},
        BadFile{"UnknownProtection", "environments:\n  prod:\n    context: c\n    namespace: n\n    protection: strict\n",
                "envs.yaml:5: environment 'prod': unknown protection 'strict' (expected none, confirm or locked)"},
        BadFile{"MissingContext", "environments:\n  prod:\n    namespace: n\n", "envs.yaml:2: environment 'prod': context is missing"},
        BadFile{"MissingNamespace", "environments:\n  prod:\n    context: c\n", "environment 'prod': namespace is missing"},
        BadFile{"UnknownKey", "environments:\n  prod:\n    context: c\n    namespace: n\n    protect: locked\n",
                "envs.yaml:5: environment 'prod': unknown key 'protect'"},
        BadFile{"DuplicateName",
                "environments:\n  prod:\n    context: a\n    namespace: n\n  prod:\n    context: b\n    namespace: n\n",
                "envs.yaml:5: environment 'prod' is defined twice"},
        BadFile{"DuplicateKey", "environments:\n  prod:\n    context: a\n    context: b\n    namespace: n\n",
                "'context' is given twice"},
        BadFile{"EnvironmentNotMapping", "environments:\n  prod: gke\n", "must be a mapping"},
        BadFile{"EnvironmentNull", "environments:\n  prod:\n", "must be a mapping"},
        BadFile{"ContextList", "environments:\n  prod:\n    context: [a]\n    namespace: n\n", "context must be a non-empty string"},
        BadFile{"EmptyContext", "environments:\n  prod:\n    context: ''\n    namespace: n\n", "context must be a non-empty string"},
        BadFile{"ContextLikeAFlag", "environments:\n  prod:\n    context: --user=x\n    namespace: n\n", "must not start with '-'"},
        BadFile{"BadNamespace", "environments:\n  prod:\n    context: c\n    namespace: Prod_NS\n",
                "is not a Kubernetes namespace name"},
        BadFile{"BadName", "environments:\n  -prod:\n    context: c\n    namespace: n\n", "must start with a letter or digit"},
        BadFile{"ReservedName", "environments:\n  envs:\n    context: c\n    namespace: n\n", "is a secure-kube command"},
        BadFile{"NameIsAMap", "environments:\n  ? {a: b}\n  : {context: c, namespace: n}\n", "names must be strings"},
        BadFile{"MultiLineContext", "environments:\n  prod:\n    context: \"a\\nb\"\n    namespace: n\n", "one line"}),
    [](const ::testing::TestParamInfo<BadFile>& info) { return info.param.name; });

TEST(EnvironmentsTest, LoadReportsAMissingFile) {
  absl::StatusOr<Environments> envs = LoadEnvironmentsFile("/nonexistent/environments.yaml", "/home/ann");
  ASSERT_FALSE(envs.ok());
  EXPECT_THAT(std::string(envs.status().message()),
              HasSubstr("cannot read the environments file /nonexistent/environments.yaml"));
}

TEST(EnvironmentsTest, LoadReadsAFile) {
  const std::string path = ::testing::TempDir() + "/sk-environments.yaml";
  std::ofstream(path) << kGood;
  absl::StatusOr<Environments> envs = LoadEnvironmentsFile(path, "/home/ann");
  std::remove(path.c_str());
  ASSERT_TRUE(envs.ok()) << envs.status();
  EXPECT_EQ(envs->source, path);
  EXPECT_EQ(envs->list.size(), 4u);
}

TEST(EnvironmentsTest, ProtectionNamesRoundTrip) {
  for (Protection p : {Protection::kNone, Protection::kConfirm, Protection::kLocked}) {
    EXPECT_EQ(ParseProtection(ProtectionName(p)), p);
  }
  EXPECT_EQ(ParseProtection("Locked"), std::nullopt);
}

TEST(EnvironmentsTest, AllowPluginsIsAListOfNames) {
  absl::StatusOr<Environments> envs = ParseEnvironments(
      "environments:\n  s:\n    context: c\n    namespace: n\n    allow_plugins: [ctx, view-secret]\n", "e.yaml", "/h");
  ASSERT_TRUE(envs.ok()) << envs.status();
  EXPECT_EQ(envs->list[0].allow_plugins, (std::vector<std::string>{"ctx", "view-secret"}));
  for (const char* bad : {"allow_plugins: ctx", "allow_plugins: [kubectl-ctx]", "allow_plugins: [a/b]",
                          "allow_plugins: [\"\"]", "allow_plugins: [[x]]"}) {
    envs = ParseEnvironments(std::string("environments:\n  s:\n    context: c\n    namespace: n\n    ") + bad + "\n",
                             "e.yaml", "/h");
    ASSERT_FALSE(envs.ok()) << bad;
    EXPECT_THAT(std::string(envs.status().message()), HasSubstr("e.yaml:5:")) << bad;
    EXPECT_THAT(std::string(envs.status().message()), HasSubstr("allow_plugins")) << bad;
  }
}

TEST(EnvironmentsTest, HomeIsNeverGuessed) {
  EXPECT_EQ(ChooseHome("/home/ann", "/home/other").value(), "/home/ann");
  EXPECT_EQ(ChooseHome(nullptr, "/home/pw").value(), "/home/pw");
  EXPECT_EQ(ChooseHome("", "/home/pw").value(), "/home/pw");
  absl::StatusOr<std::string> none = ChooseHome(nullptr, nullptr);
  ASSERT_FALSE(none.ok());
  EXPECT_THAT(std::string(none.status().message()), HasSubstr("HOME is not set"));
  EXPECT_FALSE(ChooseHome("", "").ok());
  // Without a home, "~/" in the file is an error, not "/.kube/...".
  absl::StatusOr<Environments> envs = ParseEnvironments(
      "environments:\n  p:\n    context: c\n    namespace: n\n    kubeconfig: ~/.kube/p.yaml\n", "e.yaml", "");
  ASSERT_FALSE(envs.ok());
  EXPECT_THAT(std::string(envs.status().message()), HasSubstr("e.yaml:5:"));
  EXPECT_THAT(std::string(envs.status().message()), HasSubstr("home folder is unknown"));
}

}  // namespace
}  // namespace voxgate::securekube
