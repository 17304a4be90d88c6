// Server interceptor giving unparsable requests a clear INVALID_ARGUMENT
// (private to libs/runtime).
//
// gRPC C++ 1.51 (callback API) parses a request before any service code runs;
// when the bytes do not parse as the method's request type (garbage, a
// truncated message, a proto3 `string` that is not valid UTF-8: protobuf
// refuses those), its handler finishes the call with UNIMPLEMENTED and an empty
// message, and the service never sees it (grpcpp/impl/codegen/
// server_callback_handlers.h, RunHandler). The only point where code of ours
// learns of it is a server interceptor: after the receive, the message it is
// handed is null. This interceptor notes that and rewrites the status gRPC then
// sends (UNIMPLEMENTED, "") into INVALID_ARGUMENT "request: not a valid
// <request type> (...)". Which field was at fault is not known: the bytes are
// gone by then. docs/limits.md.
#pragma once

#include "grpcpp/support/server_interceptor.h"

namespace crm::runtime::internal {

// Lifecycle: owned by the grpc::Server (via ServerBuilder). Stateless; the
// interceptors it makes hold one call's state each. Register it before the
// metrics interceptor, so that the rewritten code is the one counted.
class ParseErrorInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;
};

// Routes protobuf's own log lines into the JSON log (event "protobuf", warn for
// protobuf's warnings and errors), at most one a second: protobuf writes a
// plain-text line to stderr for every string it refuses as invalid UTF-8, so
// without this each such request would add a line to the log, and a client
// could flood it. The lines left out are counted in the next one
// ("suppressed"). Called by ServiceRuntime::Start; idempotent, process-wide.
void RouteProtobufLogs();

}  // namespace crm::runtime::internal
