// sbctl subcommands (SPEC 8). Each takes the arguments after its own name and returns the
// process exit code; output formats are relied upon by tests and scripts, keep them stable.
#pragma once

namespace sb::sbctl {

// `sbctl rql check EXPR` / `sbctl rql eval EXPR JSON` (tools/sbctl/rql_commands.cc).
int RqlCommand(int argc, char** argv);
// `sbctl policy check ...` (tools/sbctl/policy_commands.cc).
int PolicyCommand(int argc, char** argv);
// `sbctl iot-policy check ...` (tools/sbctl/policy_commands.cc).
int IotPolicyCommand(int argc, char** argv);
// `sbctl hash-password` (tools/sbctl/policy_commands.cc).
int HashPasswordCommand(int argc, char** argv);

}  // namespace sb::sbctl
