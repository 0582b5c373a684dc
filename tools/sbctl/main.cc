// sbctl: inspection and scripting front-end for Switchboard's engines (SPEC 8).
#include <cstdio>
#include <cstring>

#include "tools/sbctl/commands.h"

namespace {

void Usage() {
  std::fputs(
      "usage: sbctl <command> ...\n"
      "  rql check EXPR                 validate and normalize an RQL filter\n"
      "  rql eval EXPR JSON             evaluate a filter against a JSON document\n"
      "  policy check --policy FILE --subject S [--subject S2] --resource R\n"
      "               --permission READ|WRITE [--partial]\n"
      "  iot-policy check --policy FILE [--policy FILE2] --action A --resource R\n"
      "               [--var iot:ClientId=x] [--var iot:Topic=y]\n"
      "  hash-password                  read a password on stdin, print its stored form\n",
      stderr);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    Usage();
    return 2;
  }
  const char* command = argv[1];
  if (std::strcmp(command, "rql") == 0) return sb::sbctl::RqlCommand(argc - 2, argv + 2);
  if (std::strcmp(command, "policy") == 0) return sb::sbctl::PolicyCommand(argc - 2, argv + 2);
  if (std::strcmp(command, "iot-policy") == 0) return sb::sbctl::IotPolicyCommand(argc - 2, argv + 2);
  if (std::strcmp(command, "hash-password") == 0) return sb::sbctl::HashPasswordCommand(argc - 2, argv + 2);
  Usage();
  return 2;
}
