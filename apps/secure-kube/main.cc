// secure-kube: kubectl pinned to named environments (context, namespace, kubeconfig), with
// confirmation for changes on protected ones and an audit log. See docs/SECURE-KUBE.md.
#include <string>
#include <vector>

#include "securekube/secure_kube.h"

int main(int argc, char** argv) {
  return voxgate::securekube::SecureKubeMain(std::vector<std::string>(argv, argv + argc));
}
