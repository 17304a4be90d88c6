#include "admin_command.h"

#include <iostream>
#include <memory>

#include "crm/admin/v1/admin_service.grpc.pb.h"
#include "crm/runtime/status.h"
#include "grpc_client.h"
#include "proto_fields.h"
#include "rpc_command.h"

namespace crm::crmctl {
namespace {

struct BackupOptions {
  ClientOptions client;
  std::string dir;
};

// Calls one AdminService method and prints its response (fields, or --json).
template <typename Request, typename Response>
int CallAdmin(const ClientOptions& client, const Request& request,
              grpc::Status (admin::v1::AdminService::Stub::*method)(grpc::ClientContext*,
                                                                    const Request&, Response*)) {
  auto channel = MakeChannel(client);
  if (!channel.ok()) return ReportError(channel.status(), std::cerr, /*before_call=*/true);
  grpc::ClientContext context;
  if (absl::Status s = PrepareContext(client, context); !s.ok()) {
    return ReportError(s, std::cerr, /*before_call=*/true);
  }
  Response response;
  grpc::Status status =
      (admin::v1::AdminService::NewStub(*channel).get()->*method)(&context, request, &response);
  if (!status.ok()) {
    return ReportError(runtime::FromGrpcStatus(status), std::cerr, false, &client);
  }
  if (client.json()) {
    std::cout << ToJson(response) << "\n";
  } else {
    PrintFields(response, std::cout);
  }
  return kExitOk;
}

int Backup(const BackupOptions& o) {
  admin::v1::BackupRequest request;
  request.set_target_dir(o.dir);
  return CallAdmin(o.client, request, &admin::v1::AdminService::Stub::Backup);
}

struct ResetOffsetsOptions {
  ClientOptions client;
  std::string topic;
};

// `crmctl admin reset-consumer-offsets --topic T`: the fix of a stalled partition.
void AddResetConsumerOffsets(CLI::App& admin) {
  auto options = std::make_shared<ResetOffsetsOptions>();
  CLI::App* reset = admin.add_subcommand(
      "reset-consumer-offsets",
      "Forget the service's stored consumer offsets of --topic and read it again from its "
      "start (after the topic was recreated or the broker lost records: a stalled partition, "
      "crm_consumer_stalled = 1); events applied before are dropped by the consumer's dedupe");
  AddClientFlags(*reset, options->client, "CRM_CUSTOMER_ADDR", "127.0.0.1:50051");
  reset->add_option("--topic", options->topic, "A topic the service consumes")->required();
  reset->callback([options] {
    admin::v1::ResetConsumerOffsetsRequest request;
    request.set_topic(options->topic);
    if (int rc = CallAdmin(options->client, request,
                           &admin::v1::AdminService::Stub::ResetConsumerOffsets);
        rc != kExitOk) {
      throw CLI::RuntimeError(rc);
    }
  });
}

using AdminStub = admin::v1::AdminService::StubInterface;

// `id  event_type  dead-lettered  attempts  reason`, one line per dead letter.
void PrintDeadLetters(const google::protobuf::Message& m, std::ostream& out) {
  const auto& r = static_cast<const admin::v1::ListDeadLettersResponse&>(m);
  for (const admin::v1::DeadLetter& d : r.dead_letters()) {
    out << d.id() << "  " << OrDash(d.event_type()) << "  " << FormatTime(d.dead_lettered_at())
        << "  key " << OrDash(d.key()) << "  " << d.value_bytes() << " bytes";
    if (d.replay_attempts() > 0) out << "  replayed " << d.replay_attempts() << "x";
    out << "  -- " << d.reason() << "\n";
  }
  PrintNextPageToken(out, r.next_page_token());
}

void PrintReplay(const google::protobuf::Message& m, std::ostream& out) {
  const auto& r = static_cast<const admin::v1::ReplayDeadLettersResponse&>(m);
  out << "replayed:        " << r.replayed() << "\n";
  for (const std::string& id : r.replayed_ids()) out << "  " << id << "\n";
  out << "failed:          " << r.failed() << "\n";
  for (const admin::v1::ReplayFailure& f : r.failures()) {
    out << "  " << f.id() << "  -- " << f.reason() << "\n";
  }
  if (r.not_found_ids_size() > 0) {
    out << "not_found:       " << r.not_found_ids_size() << "\n";
    for (const std::string& id : r.not_found_ids()) out << "  " << id << "\n";
  }
}

// `crmctl admin dead-letters list|replay`: one row per RPC, as the service groups.
void AddDeadLetterCommands(CLI::App& admin) {
  std::shared_ptr<const RpcEnv<admin::v1::AdminService>> env =
      std::make_shared<RpcEnv<admin::v1::AdminService>>();
  std::vector<RpcSpec> rows = {
      {.command = "list",
       .help = "List the consumed records this service's consumer dead-lettered",
       .flags = Concat({{{"topic", "topic", "Only those consumed from this topic"}},
                        PageFlags("50")}),
       .run = Unary(env, &AdminStub::ListDeadLetters),
       .text = &PrintDeadLetters},
      {.command = "replay",
       .help = "Handle dead letters again (after a fix or an upgrade); applied ones are "
               "deleted, failing ones kept with the new reason",
       .flags = {{"id", "ids", "Dead letter ids from `list` (comma-separated or repeated)",
                  FlagKind::kList},
                 {"all", "all", "Every dead letter of the service", FlagKind::kSwitch}},
       .run = Unary(env, &AdminStub::ReplayDeadLetters),
       .text = &PrintReplay},
  };
  AddRpcGroup(admin,
              {.name = "dead-letters",
               .help = "Records the service's consumer could not apply (crm.<service>.v1.dlq)",
               .entity = "dead letter",
               .addr_env = "CRM_CUSTOMER_ADDR",
               .default_addr = "127.0.0.1:50051"},
              std::move(rows), env->out, env->err);
}

}  // namespace

void AddAdminCommands(CLI::App& app) {
  CLI::App* admin = app.add_subcommand("admin", "Operator commands (admin role)");
  admin->require_subcommand(1);
  auto options = std::make_shared<BackupOptions>();
  CLI::App* backup = admin->add_subcommand(
      "backup", "Take a consistent checkpoint of a running service's store into --dir (on the "
                "server's file system)");
  AddClientFlags(*backup, options->client, "CRM_CUSTOMER_ADDR", "127.0.0.1:50051");
  backup->add_option("--dir", options->dir,
                     "Absolute path of a directory that does not exist yet")
      ->required();
  backup->callback([options] {
    if (int rc = Backup(*options); rc != kExitOk) throw CLI::RuntimeError(rc);
  });
  AddDeadLetterCommands(*admin);
  AddResetConsumerOffsets(*admin);
}

}  // namespace crm::crmctl
