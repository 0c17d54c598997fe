#pragma once

/// SQLite persistence, one header per concern; this one brings them all, for the callers that use
/// several. Every function takes the connection to use; the caller owns transactions (one unit of
/// work = one transaction). All SQL binds its values. Functions throw SQLite::Exception on database
/// errors; the caller decides.
// IWYU pragma: begin_exports
#include "src/storage/chat.hpp"        // linked chats, link codes, address state
#include "src/storage/database.hpp"    // Db, WriteTransaction, OpenDatabase
#include "src/storage/fetched.hpp"     // what the fetch stage completed
#include "src/storage/inbox.hpp"       // webhook bodies as received
#include "src/storage/metadata.hpp"    // GetMeta/SetMeta/DeleteMeta, counts
#include "src/storage/mirror.hpp"      // ApplyEvent, MirrorBatch, MarkEventSeen
#include "src/storage/outbox.hpp"      // write-backs and messages to send
#include "src/storage/own_writes.hpp"  // echoes of funnelguard's own writes
#include "src/storage/snapshot.hpp"    // LoadSnapshot, ForEachSnapshot, DealRows
#include "src/storage/violations.hpp"  // violations, open and resolved
#include "src/storage/wake.hpp"        // wake-ups, the list of deals
// IWYU pragma: end_exports
