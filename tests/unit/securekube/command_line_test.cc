#include "securekube/command_line.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

namespace voxgate::securekube {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using Args = std::vector<std::string>;

Environment Prod() {
  Environment env;
  env.name = "prod";
  env.context = "ctx-prod";
  env.kube_namespace = "app";
  env.kubeconfig = "/k/prod.yaml";
  env.protection = Protection::kConfirm;
  env.allow_plugins = {"foo", "foo-bar", "my_tool"};
  return env;
}

const Args kFlags = {"--kubeconfig=/k/prod.yaml", "--context=ctx-prod", "--namespace=app"};

absl::StatusOr<KubectlPlan> Plan(const Args& args, std::set<std::string> plugins = {}) {
  return PlanKubectl(Prod(), args, [plugins](const std::string& name) { return plugins.count(name) > 0; });
}

enum class Expect { kRuns, kRefused, kInvalid };

struct Case {
  std::string name;
  Args args;
  Expect expect;
  std::string verb = "";
  bool changing = false;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class PlanTest : public ::testing::TestWithParam<Case> {};

TEST_P(PlanTest, ClassifiesAndPlaces) {
  const Case& c = GetParam();
  absl::StatusOr<KubectlPlan> plan = Plan(c.args);
  switch (c.expect) {
    case Expect::kRefused:
      ASSERT_FALSE(plan.ok()) << "ran as " << plan->verb;
      EXPECT_TRUE(absl::IsPermissionDenied(plan.status())) << plan.status();
      return;
    case Expect::kInvalid:
      ASSERT_FALSE(plan.ok()) << "ran as " << plan->verb;
      EXPECT_TRUE(absl::IsInvalidArgument(plan.status())) << plan.status();
      return;
    case Expect::kRuns:
      break;
  }
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->verb, c.verb);
  EXPECT_EQ(plan->changing, c.changing);
  // The environment's flags come first, then the user's arguments unchanged: never after "--".
  Args expected = kFlags;
  expected.insert(expected.end(), c.args.begin(), c.args.end());
  EXPECT_EQ(plan->args, expected);
}

// Every way of naming another context, cluster, server or identity, in every position.
INSTANTIATE_TEST_SUITE_P(
    Overrides, PlanTest,
    ::testing::Values(
        Case{"ContextFirst", {"--context", "x", "get", "pods"}, Expect::kRefused},
        Case{"ContextEqualsFirst", {"--context=x", "get", "pods"}, Expect::kRefused},
        Case{"ContextAfterVerb", {"get", "--context", "x", "pods"}, Expect::kRefused},
        Case{"ContextLast", {"get", "pods", "--context", "x"}, Expect::kRefused},
        Case{"ContextEqualsLast", {"get", "pods", "--context=x"}, Expect::kRefused},
        Case{"ContextEmpty", {"get", "pods", "--context="}, Expect::kRefused},
        Case{"ContextItsOwnValue", {"get", "pods", "--context=ctx-prod"}, Expect::kRefused},
        Case{"ContextNoValue", {"get", "pods", "--context"}, Expect::kRefused},
        Case{"ContextBeforeDashDash", {"exec", "pod", "-it", "--context=x", "--", "sh"}, Expect::kRefused},
        Case{"Kubeconfig", {"get", "pods", "--kubeconfig", "/tmp/k"}, Expect::kRefused},
        Case{"Cluster", {"--cluster=other", "get", "pods"}, Expect::kRefused},
        Case{"User", {"get", "--user", "admin"}, Expect::kRefused},
        Case{"Server", {"get", "pods", "--server=https://evil"}, Expect::kRefused},
        Case{"ServerShort", {"-s", "https://evil", "get", "pods"}, Expect::kRefused},
        Case{"ServerShortInline", {"get", "pods", "-shttps://evil"}, Expect::kRefused},
        Case{"ServerInCluster", {"exec", "-is", "https://evil", "pod"}, Expect::kRefused},
        Case{"Token", {"delete", "pod", "x", "--token=abc"}, Expect::kRefused},
        Case{"As", {"get", "pods", "--as=system:admin"}, Expect::kRefused},
        Case{"AsGroup", {"get", "pods", "--as-group", "system:masters"}, Expect::kRefused},
        Case{"AsGroupUnderscore", {"get", "pods", "--as_group=system:masters"}, Expect::kRefused},
        Case{"AsUid", {"get", "pods", "--as-uid=0"}, Expect::kRefused},
        Case{"Username", {"get", "--username=u"}, Expect::kRefused},
        Case{"Password", {"get", "--password=p"}, Expect::kRefused},
        Case{"ClientKey", {"get", "--client-key=/k"}, Expect::kRefused},
        Case{"ClientCertificate", {"get", "--client-certificate=/c"}, Expect::kRefused},
        Case{"CertificateAuthority", {"get", "--certificate-authority=/ca"}, Expect::kRefused},
        Case{"InsecureSkipTlsVerify", {"get", "--insecure-skip-tls-verify"}, Expect::kRefused},
        Case{"TlsServerName", {"get", "--tls-server-name", "x"}, Expect::kRefused},
        // A flag that takes a value takes "--" too, so flags go on after it.
        Case{"DashDashAsNamespaceValue", {"exec", "pod", "-n", "--", "sh", "--context=x"}, Expect::kRefused},
        // After an unknown flag "--" may be its value: what follows is still checked (fail safe).
        Case{"DashDashAfterUnknownFlag", {"exec", "pod", "--foo", "--", "sh", "--context=x"}, Expect::kRefused},
        Case{"DashDashAfterUnknownShorthand", {"exec", "pod", "-p", "--", "--user=x"}, Expect::kRefused},
        // A command's shorthand that takes a value takes the rest of its word: kubectl reads
        // `-fv` as -f v, so the next argument is a flag of its own and is checked.
        Case{"FilenameClusterThenContext", {"get", "-fv", "--context=x"}, Expect::kRefused},
        Case{"KustomizeClusterThenContext", {"apply", "-kv", "--context=x"}, Expect::kRefused},
        Case{"PatchClusterThenContext", {"patch", "pod", "x", "-pv", "--context=x"}, Expect::kRefused},
        Case{"EnvClusterThenContext", {"set", "env", "deploy/x", "-ev", "--context=x"}, Expect::kRefused},
        Case{"ReplicasClusterThenContext", {"create", "deployment", "x", "-rv", "--context=x"}, Expect::kRefused},
        Case{"UnixSocketClusterThenContext", {"proxy", "-uv", "--context=x"}, Expect::kRefused},
        Case{"WwwClusterThenContext", {"proxy", "-wv", "--context=x"}, Expect::kRefused},
        Case{"WwwPrefixClusterThenContext", {"proxy", "-Pv", "--context=x"}, Expect::kRefused},
        // "X=" ends the word: the rest is X's value, whatever letters it holds.
        Case{"FilenameEqualsThenContext", {"get", "-f=dev", "--context=x"}, Expect::kRefused},
        Case{"BoolEqualsThenContext", {"logs", "-f=true", "--context=x", "pod"}, Expect::kRefused},
        // A letter no command knows may take a value or not: either way the next argument is checked.
        Case{"UnknownLetterThenVerbosity", {"get", "pods", "-xv", "--context=x"}, Expect::kRefused},
        Case{"UnknownLetterThenNamespace", {"get", "pods", "-xn", "--context=x"}, Expect::kRefused},
        Case{"UnknownLetterThenVerbosityDashDash", {"exec", "pod", "-xv", "--", "--user=x"}, Expect::kRefused},
        // --raw goes to any path: refused with a change, whatever the namespace in it.
        Case{"RawCreate", {"create", "--raw", "/api/v1/namespaces/other/pods", "-f", "p.json"}, Expect::kRefused},
        Case{"RawReplace", {"replace", "--raw=/api/v1/namespaces/other/pods/x", "-f", "p.json"}, Expect::kRefused},
        Case{"RawDelete", {"delete", "--raw", "/api/v1/namespaces/app/pods/x"}, Expect::kRefused}),
    [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

INSTANTIATE_TEST_SUITE_P(
    Namespaces, PlanTest,
    ::testing::Values(
        Case{"OtherFirst", {"-n", "other", "get", "pods"}, Expect::kRefused},
        Case{"OtherLast", {"get", "pods", "-n", "other"}, Expect::kRefused},
        Case{"OtherInline", {"get", "pods", "-nother"}, Expect::kRefused},
        Case{"OtherEquals", {"get", "pods", "-n=other"}, Expect::kRefused},
        Case{"OtherLong", {"--namespace=other", "get", "pods"}, Expect::kRefused},
        Case{"OtherLongSeparate", {"get", "--namespace", "other", "pods"}, Expect::kRefused},
        Case{"EmptyLong", {"get", "pods", "--namespace="}, Expect::kRefused},
        Case{"NoValue", {"get", "pods", "-n"}, Expect::kRefused},
        Case{"AfterBoolShorthands", {"exec", "-in", "other", "pod", "--", "sh"}, Expect::kRefused},
        // -f is a value for apply but a bool for logs: read as a bool, so this is refused.
        Case{"AfterAmbiguousShorthand", {"logs", "-fn", "other", "pod"}, Expect::kRefused},
        Case{"SameFirst", {"-n", "app", "delete", "pod", "x"}, Expect::kRuns, "delete", true},
        Case{"SameLast", {"get", "pods", "-n", "app"}, Expect::kRuns, "get", false},
        Case{"SameInline", {"get", "pods", "-napp"}, Expect::kRuns, "get", false},
        Case{"SameLong", {"get", "pods", "--namespace=app"}, Expect::kRuns, "get", false},
        // The 'n' in a selector's value is not the namespace flag.
        Case{"SelectorValue", {"get", "pods", "-lapp=nginx"}, Expect::kRuns, "get", false},
        Case{"OutputValue", {"get", "pods", "-ojsonpath={.items[*].metadata.name}"}, Expect::kRuns, "get", false},
        Case{"AllNamespacesToRead", {"get", "pods", "-A"}, Expect::kRuns, "get", false},
        Case{"AllNamespacesLongToRead", {"get", "pods", "--all-namespaces"}, Expect::kRuns, "get", false},
        Case{"AllNamespacesInCluster", {"get", "pods", "-Aowide"}, Expect::kRuns, "get", false},
        Case{"AllNamespacesFalse", {"delete", "pods", "--all", "--all-namespaces=false"}, Expect::kRuns, "delete", true},
        Case{"AllNamespacesToDelete", {"delete", "pods", "--all", "-A"}, Expect::kRefused},
        Case{"AllNamespacesLongToDelete", {"delete", "pods", "--all", "--all-namespaces"}, Expect::kRefused},
        Case{"AllNamespacesUnderscore", {"delete", "pods", "--all", "--all_namespaces"}, Expect::kRefused},
        // Values of command shorthands, in the word or as "X=", are not flags.
        Case{"FilenameEquals", {"apply", "-f=x.yaml"}, Expect::kRuns, "apply", true},
        Case{"FilenameEqualsPath", {"apply", "-f=manifests/app.yaml"}, Expect::kRuns, "apply", true},
        Case{"FilenameInline", {"apply", "-fmanifests/app.yaml"}, Expect::kRuns, "apply", true},
        Case{"FilenameEqualsForDelete", {"delete", "-f=service.yaml"}, Expect::kRuns, "delete", true},
        Case{"KustomizeEquals", {"apply", "-k=overlays/dev", "-n=app"}, Expect::kRuns, "apply", true},
        Case{"PatchInline", {"patch", "deploy", "x", "-p{\"spec\":{\"replicas\":2}}"}, Expect::kRuns, "patch", true},
        Case{"LogsFollowThenContainer", {"logs", "-fc", "main", "pod"}, Expect::kRuns, "logs", false},
        Case{"LogsPreviousFollow", {"logs", "-pf", "pod"}, Expect::kRuns, "logs", false},
        Case{"GetWatchThenOutput", {"get", "pods", "-wo", "name"}, Expect::kRuns, "get", false},
        Case{"ProxyWww", {"proxy", "-wstatic", "-P", "/s/"}, Expect::kRuns, "proxy", true},
        Case{"RawGet", {"get", "--raw", "/api/v1/namespaces/other/pods"}, Expect::kRuns, "get", false}),
    [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

// The verb is found past global flags and their values.
INSTANTIATE_TEST_SUITE_P(
    Verbs, PlanTest,
    ::testing::Values(
        Case{"NamespaceThenDelete", {"-n", "app", "delete", "pod", "x"}, Expect::kRuns, "delete", true},
        Case{"VerbosityThenGet", {"-v", "6", "get", "pods"}, Expect::kRuns, "get", false},
        Case{"VerbosityInlineThenGet", {"-v6", "get", "pods"}, Expect::kRuns, "get", false},
        Case{"VerbosityEqualsThenGet", {"-v=6", "get", "pods"}, Expect::kRuns, "get", false},
        Case{"LongVerbosityThenDelete", {"--v", "6", "delete", "pod", "x"}, Expect::kRuns, "delete", true},
        Case{"RequestTimeoutThenApply", {"--request-timeout=5s", "apply", "-f", "x.yaml"}, Expect::kRuns, "apply", true},
        Case{"RequestTimeoutSeparate", {"--request-timeout", "5s", "delete", "pod", "x"}, Expect::kRuns, "delete", true},
        Case{"RequestTimeoutUnderscore", {"--request_timeout", "5s", "delete", "pod", "x"}, Expect::kRuns, "delete", true},
        Case{"CacheDir", {"--cache-dir", "/tmp/cache", "scale", "deploy/x", "--replicas=2"}, Expect::kRuns, "scale", true},
        Case{"LogFlushFrequency", {"--log-flush-frequency", "5s", "get", "pods"}, Expect::kRuns, "get", false},
        Case{"ProfileOutput", {"--profile", "cpu", "--profile-output", "p.out", "drain", "n1"}, Expect::kRuns, "drain", true},
        Case{"BoolGlobalThenVerb", {"--warnings-as-errors", "label", "pod", "x", "a=b"}, Expect::kRuns, "label", true},
        Case{"ExecAfterDashDash", {"exec", "pod", "--", "cmd", "--context", "x", "-n", "other"}, Expect::kRuns, "exec", true},
        Case{"ExecInteractive", {"exec", "-it", "pod", "--", "/bin/bash"}, Expect::kRuns, "exec", true},
        Case{"ExecContainer", {"exec", "pod", "-c", "main", "--", "ls", "-A", "-s"}, Expect::kRuns, "exec", true},
        Case{"ExecBools", {"exec", "-i", "-t", "pod", "--", "grep", "-n", "x"}, Expect::kRuns, "exec", true},
        Case{"RunAfterDashDash", {"run", "t", "--image=busybox", "--rm", "-it", "--", "sh", "--user=x"}, Expect::kRuns, "run", true},
        Case{"NoCommand", {}, Expect::kRuns, "", false},
        Case{"Help", {"--help"}, Expect::kRuns, "", false},
        Case{"Get", {"get", "pods"}, Expect::kRuns, "get", false},
        Case{"Describe", {"describe", "pod", "x"}, Expect::kRuns, "describe", false},
        Case{"Logs", {"logs", "-f", "pod"}, Expect::kRuns, "logs", false},
        Case{"Top", {"top", "pods"}, Expect::kRuns, "top", false},
        Case{"Events", {"events"}, Expect::kRuns, "events", false},
        Case{"Wait", {"wait", "--for=condition=Ready", "pod/x"}, Expect::kRuns, "wait", false},
        Case{"Diff", {"diff", "-f", "x.yaml"}, Expect::kRuns, "diff", false},
        Case{"Version", {"version", "--client"}, Expect::kRuns, "version", false},
        Case{"Kustomize", {"kustomize", "deploy/"}, Expect::kRuns, "kustomize", false},
        Case{"ApiResources", {"api-resources"}, Expect::kRuns, "api-resources", false},
        Case{"Delete", {"delete", "pod", "x"}, Expect::kRuns, "delete", true},
        Case{"PortForward", {"port-forward", "svc/x", "8080:80"}, Expect::kRuns, "port-forward", true},
        Case{"Proxy", {"proxy"}, Expect::kRuns, "proxy", true},
        Case{"Cp", {"cp", "pod:/a", "b"}, Expect::kRuns, "cp", true},
        Case{"Debug", {"debug", "pod/x", "-it", "--image=busybox"}, Expect::kRuns, "debug", true},
        Case{"CertificateApprove", {"certificate", "approve", "csr"}, Expect::kRuns, "certificate", true},
        Case{"RolloutStatus", {"rollout", "status", "deploy/x"}, Expect::kRuns, "rollout status", false},
        Case{"RolloutHistory", {"-n", "app", "rollout", "history", "deploy/x"}, Expect::kRuns, "rollout history", false},
        Case{"RolloutRestart", {"rollout", "restart", "deploy/x"}, Expect::kRuns, "rollout restart", true},
        Case{"RolloutUndo", {"rollout", "undo", "deploy/x"}, Expect::kRuns, "rollout undo", true},
        // cobra lets --selector take "status" as its value: the subcommand is unknown, so changing.
        Case{"RolloutFlagBeforeSubcommand", {"rollout", "--selector", "status", "restart", "deploy"}, Expect::kRuns,
             "rollout", true},
        Case{"RolloutNothing", {"rollout"}, Expect::kRuns, "rollout", true},
        Case{"AuthCanI", {"auth", "can-i", "delete", "pods"}, Expect::kRuns, "auth can-i", false},
        Case{"AuthWhoami", {"auth", "whoami"}, Expect::kRuns, "auth whoami", false},
        Case{"AuthReconcile", {"auth", "reconcile", "-f", "rbac.yaml"}, Expect::kRuns, "auth reconcile", true},
        Case{"ConfigView", {"config", "view"}, Expect::kRuns, "config view", false},
        Case{"ConfigSetContext", {"config", "set-context", "ctx-prod", "--namespace=app"}, Expect::kRuns,
             "config set-context", true},
        Case{"ApplyViewLastApplied", {"apply", "view-last-applied", "deploy/x"}, Expect::kRuns,
             "apply view-last-applied", false},
        Case{"ApplySetLastApplied", {"apply", "set-last-applied", "-f", "x"}, Expect::kRuns, "apply set-last-applied", true},
        Case{"FlagOfCommandBeforeIt", {"--all", "delete", "pods"}, Expect::kInvalid},
        Case{"AllNamespacesBeforeCommand", {"-A", "get", "pods"}, Expect::kInvalid},
        Case{"ShorthandBeforeCommand", {"-it", "exec", "pod"}, Expect::kInvalid},
        Case{"UnknownCommand", {"frobnicate", "pods"}, Expect::kInvalid}),
    [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

TEST(PlanTest, EnvironmentFlagsStayBeforeDashDash) {
  absl::StatusOr<KubectlPlan> plan = Plan({"exec", "-it", "pod", "--", "/bin/bash"});
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(plan->args, ElementsAre("--kubeconfig=/k/prod.yaml", "--context=ctx-prod", "--namespace=app", "exec",
                                      "-it", "pod", "--", "/bin/bash"));
}

TEST(PlanTest, WithoutKubeconfigOnlyContextAndNamespace) {
  Environment env = Prod();
  env.kubeconfig.clear();
  EXPECT_THAT(EnvironmentFlags(env), ElementsAre("--context=ctx-prod", "--namespace=app"));
}

TEST(PlanTest, RefusalNamesTheFlagAndTheEnvironment) {
  absl::StatusOr<KubectlPlan> plan = Plan({"get", "pods", "-n", "other"});
  ASSERT_FALSE(plan.ok());
  EXPECT_THAT(std::string(plan.status().message()), HasSubstr("'other'"));
  EXPECT_THAT(std::string(plan.status().message()), HasSubstr("namespace 'app'"));
  plan = Plan({"get", "--context=x"});
  ASSERT_FALSE(plan.ok());
  EXPECT_THAT(std::string(plan.status().message()), HasSubstr("'--context=x'"));
  EXPECT_THAT(std::string(plan.status().message()), HasSubstr("'prod'"));
}

TEST(PlanTest, PluginGetsTheEnvironmentFlagsAfterItsName) {
  // kubectl finds a plugin only when its name comes first, so the flags go after it.
  absl::StatusOr<KubectlPlan> plan = Plan({"foo", "bar", "--x"}, {"kubectl-foo"});
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(plan->args, ElementsAre("foo", "--kubeconfig=/k/prod.yaml", "--context=ctx-prod", "--namespace=app",
                                      "bar", "--x"));
  EXPECT_EQ(plan->verb, "plugin foo");
  EXPECT_TRUE(plan->changing);  // nothing is known about what it does
}

TEST(PlanTest, LongestPluginNameWins) {
  absl::StatusOr<KubectlPlan> plan = Plan({"foo", "bar", "baz"}, {"kubectl-foo", "kubectl-foo-bar"});
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(plan->args, ElementsAre("foo", "bar", "--kubeconfig=/k/prod.yaml", "--context=ctx-prod",
                                      "--namespace=app", "baz"));
  EXPECT_EQ(plan->verb, "plugin foo-bar");
  // Dashes in a word are underscores in the executable's name, as kubectl looks them up.
  plan = Plan({"my-tool"}, {"kubectl-my_tool"});
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->verb, "plugin my_tool");
}

TEST(PlanTest, PluginProblems) {
  absl::StatusOr<KubectlPlan> plan = Plan({"foo"});
  ASSERT_FALSE(plan.ok());
  EXPECT_THAT(std::string(plan.status().message()), HasSubstr("no kubectl-foo plugin in PATH"));
  plan = Plan({"-v", "6", "foo"}, {"kubectl-foo"});
  ASSERT_FALSE(plan.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(plan.status()));
  plan = Plan({"foo", "--context=x"}, {"kubectl-foo"});
  ASSERT_FALSE(plan.ok());
  EXPECT_TRUE(absl::IsPermissionDenied(plan.status()));
  plan = Plan({"foo", "-n", "other"}, {"kubectl-foo"});
  ASSERT_FALSE(plan.ok());
  EXPECT_TRUE(absl::IsPermissionDenied(plan.status()));
  // A built-in command is never taken for a plugin.
  plan = Plan({"get", "pods"}, {"kubectl-get"});
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->verb, "get");
}

TEST(PlanTest, ApplyIsDiffedWithTheSameFlags) {
  absl::StatusOr<KubectlPlan> plan = Plan({"-v", "2", "apply", "-f", "x.yaml", "--server-side", "--prune", "-l", "a=b"});
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_TRUE(plan->diff_args.has_value());
  EXPECT_THAT(*plan->diff_args,
              ElementsAre("--kubeconfig=/k/prod.yaml", "--context=ctx-prod", "--namespace=app", "-v", "2", "diff", "-f",
                          "x.yaml", "--server-side", "--prune", "-l", "a=b"));
  EXPECT_FALSE(plan->manifests_from_stdin);
}

TEST(PlanTest, ApplyOnlyFlagsAreLeftOutOfTheDiff) {
  absl::StatusOr<KubectlPlan> plan =
      Plan({"apply", "-Rf", "dir", "--wait", "--timeout", "30s", "-o", "yaml", "--dry-run=server", "--field-manager", "me"});
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_TRUE(plan->diff_args.has_value());
  const Args rest(plan->diff_args->begin() + 3, plan->diff_args->end());
  EXPECT_THAT(rest, ElementsAre("diff", "-Rf", "dir", "--field-manager", "me"));
}

TEST(PlanTest, ApplyFromStdinIsNoticed) {
  for (const Args& args : {Args{"apply", "-f", "-"}, Args{"apply", "--filename=-"}, Args{"apply", "--filename", "-"},
                           Args{"apply", "-f-"}, Args{"apply", "-Rf", "-"}, Args{"apply", "-f", "/dev/stdin"},
                           Args{"apply", "-f=/dev/stdin"}, Args{"apply", "-f", "/dev/fd/63"},
                           Args{"apply", "--filename=/proc/self/fd/0"}, Args{"apply", "-f", "x.yaml", "-f", "-"}}) {
    absl::StatusOr<KubectlPlan> plan = Plan(args);
    ASSERT_TRUE(plan.ok()) << plan.status();
    EXPECT_TRUE(plan->manifests_from_stdin) << args.back();
  }
}

TEST(PlanTest, ApplyFilesAreListed) {
  absl::StatusOr<KubectlPlan> plan =
      Plan({"apply", "-f", "a.yaml", "--filename=b.yaml", "-f=c.yaml", "-Rfd", "--filename", "e", "-fsvc.yaml"});
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(plan->manifest_files, ElementsAre("a.yaml", "b.yaml", "c.yaml", "d", "e", "svc.yaml"));
  EXPECT_FALSE(plan->manifests_from_stdin);
  EXPECT_FALSE(IsStdinFilename("/dev/stdin.yaml"));
  EXPECT_FALSE(IsStdinFilename("./-"));
}

TEST(PlanTest, PluginsOnProtectedEnvironmentsOnlyWhenAllowed) {
  Environment env = Prod();
  env.allow_plugins = {"foo"};
  auto plan = [&](const Args& args) {
    return PlanKubectl(env, args, [](const std::string& name) { return name == "kubectl-foo" || name == "kubectl-bar"; });
  };
  EXPECT_TRUE(plan({"foo"}).ok());
  absl::StatusOr<KubectlPlan> refused = plan({"bar"});
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(absl::IsPermissionDenied(refused.status()));
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("allow_plugins"));
  env.protection = Protection::kLocked;  // refused later as a change, allowed or not
  EXPECT_TRUE(absl::IsPermissionDenied(plan({"bar"}).status()));
  env.protection = Protection::kNone;  // nothing protected: any plugin runs
  absl::StatusOr<KubectlPlan> unprotected = plan({"bar"});
  ASSERT_TRUE(unprotected.ok()) << unprotected.status();
  EXPECT_EQ(unprotected->plugin, "bar");
  EXPECT_TRUE(unprotected->changing);
}

TEST(PlanTest, SecretsAreMaskedForTheLog) {
  EXPECT_THAT(MaskedForLog({"create", "secret", "generic", "s", "--from-literal=password=hunter2", "--from-literal",
                            "user=ann", "--token=abc", "--password", "pw", "--docker-password=dp", "--from-file=k",
                            "--", "--token=remote"}),
              ElementsAre("create", "secret", "generic", "s", "--from-literal=password=***", "--from-literal",
                          "user=***", "--token=***", "--password", "***", "--docker-password=***", "--from-file=k",
                          "--", "--token=remote"));
  EXPECT_THAT(MaskedForLog({"get", "--token"}), ElementsAre("get", "--token"));
  EXPECT_THAT(MaskedForLog({"-n", "prod", "set", "env", "deploy/api", "PASSWORD=hunter2", "DB_URL=postgres://u:p@db", "MODE-"}),
              ElementsAre("-n", "prod", "set", "env", "deploy/api", "PASSWORD=***", "DB_URL=***", "MODE-"));
  EXPECT_THAT(MaskedForLog({"run", "job", "--image=busybox", "--env=TOKEN=abc", "--env", "USER=ann"}),
              ElementsAre("run", "job", "--image=busybox", "--env=TOKEN=***", "--env", "USER=***"));
  // Elsewhere KEY=VALUE words are no secret (labels, images) and stay as typed.
  EXPECT_THAT(MaskedForLog({"set", "image", "deploy/api", "api=voxgate:1.2"}),
              ElementsAre("set", "image", "deploy/api", "api=voxgate:1.2"));
}

TEST(PlanTest, OnlyPlainApplyIsDiffed) {
  for (const Args& args : {Args{"apply", "view-last-applied", "deploy/x"}, Args{"apply", "-f", "x", "set-last-applied"},
                           Args{"delete", "-f", "x.yaml"}}) {
    absl::StatusOr<KubectlPlan> plan = Plan(args);
    ASSERT_TRUE(plan.ok()) << plan.status();
    EXPECT_FALSE(plan->diff_args.has_value()) << plan->verb;
  }
}

}  // namespace
}  // namespace voxgate::securekube
