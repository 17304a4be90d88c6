// What a page token is bound to: the list (its RPC), the list's filters and the
// caller. Every paged read passes it to the store's paging (eventstore::WalkIndex,
// ReadStreamPage, SealPageToken), which seals it into the token's associated data,
// so a token opens only for the next page of the same list, with the same filters,
// for the same caller (docs/adr/0010-sealed-page-tokens.md).
//
//   ASSIGN_OR_RETURN(std::string next, eventstore::WalkIndex(store, projection, prefix,
//       {.page_size = size, .page_token = req.page_token(),
//        .binding = command::PageBinding("ListTickets", req, who)}, visit));
//
// Pure and thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "crm/auth/principal.h"
#include "google/protobuf/message.h"

namespace crm::command {

// A digest (32 bytes) of `rpc`, of `request` with its top-level fields named
// `page_token` and `page_size` cleared (and unknown fields dropped), serialized
// deterministically, and of the caller's subject, roles and region. Two requests
// of the same list that differ only in their paging give the same binding; any
// other difference (a filter, the caller, the RPC) gives another.
std::string PageBinding(std::string_view rpc, const google::protobuf::Message& request,
                        const auth::Principal& who);

}  // namespace crm::command
