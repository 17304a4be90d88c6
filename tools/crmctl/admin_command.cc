#include "admin_command.h"

#include <iostream>
#include <memory>

#include "crm/admin/v1/admin_service.grpc.pb.h"
#include "crm/runtime/status.h"
#include "grpc_client.h"
#include "proto_fields.h"

namespace crm::crmctl {
namespace {

struct BackupOptions {
  ClientOptions client;
  std::string dir;
};

int Backup(const BackupOptions& o) {
  auto channel = MakeChannel(o.client);
  if (!channel.ok()) return ReportError(channel.status(), std::cerr, /*before_call=*/true);
  grpc::ClientContext context;
  if (absl::Status s = PrepareContext(o.client, context); !s.ok()) {
    return ReportError(s, std::cerr, /*before_call=*/true);
  }
  admin::v1::BackupRequest request;
  request.set_target_dir(o.dir);
  admin::v1::BackupResponse response;
  grpc::Status status =
      admin::v1::AdminService::NewStub(*channel)->Backup(&context, request, &response);
  if (!status.ok()) {
    return ReportError(runtime::FromGrpcStatus(status), std::cerr, false, &o.client);
  }
  if (o.client.json()) {
    std::cout << ToJson(response) << "\n";
  } else {
    PrintFields(response, std::cout);
  }
  return kExitOk;
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
}

}  // namespace crm::crmctl
