#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "src/domain/model.hpp"
#include "src/storage/snapshot.hpp"

namespace fg::storage {

/// How many threads SweepSnapshots should decode and visit on: one per core.
inline int SweepThreads() {
    return static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1U, 16U));
}

/// ForEachSnapshot on several threads, with the results in deal order. The calling thread reads
/// the deal rows (one SQLite cursor) in batches of `batch_size`; `threads` worker threads decode
/// the batches and run `visit(snapshot, result)` over every deal of a batch, in order, into that
/// batch's Result; the calling thread hands each batch's Result to `consume` in deal order and
/// then clear()s it. So `consume` sees exactly what one thread visiting every deal in order would
/// have produced, batch by batch.
///
/// `visit` runs on several threads at once (on different batches): it must only read shared
/// state. At most 2 * threads + 2 batches are read and not yet consumed, so memory stays flat
/// however large the mirror. With threads <= 1 everything runs on the calling thread. An
/// exception thrown by `visit` (or while decoding) is rethrown on the calling thread when its
/// batch's turn to be consumed comes, after the workers have stopped.
template <typename Result>
void SweepSnapshots(Db& db, const std::string& tenant, int threads, std::size_t batch_size,
                    const std::function<void(const domain::DealSnapshot&, Result&)>& visit,
                    const std::function<void(Result&)>& consume) {
    batch_size = std::max<std::size_t>(batch_size, 1);
    if (threads <= 1) {
        domain::DealSnapshot snapshot;
        Result result{};
        ForEachDealRows(db, tenant, batch_size, [&](DealRows& rows) {
            for (std::size_t i = 0; i < rows.size(); ++i) {
                rows.Decode(i, snapshot);
                visit(snapshot, result);
            }
            consume(result);
            result.clear();
        });
        return;
    }

    struct Slot {
        DealRows rows{};
        Result result{};
        std::exception_ptr error{};
        bool done = false;
    };
    const std::size_t in_flight = 2 * static_cast<std::size_t>(threads) + 2;
    std::vector<Slot> slots(in_flight);  // batch n uses slots[n % in_flight]
    std::mutex mutex;
    std::condition_variable work_ready;  // read > taken, or stopping
    std::condition_variable batch_done;  // some slot became done
    std::size_t read = 0;                // batches handed to the workers
    std::size_t taken = 0;               // batches a worker has started
    std::size_t consumed = 0;            // batches consumed (their slots are free again)
    bool stopping = false;

    auto work = [&] {
        domain::DealSnapshot snapshot;  // per worker; keeps its capacity from deal to deal
        for (;;) {
            std::size_t batch = 0;
            {
                std::unique_lock lock(mutex);
                work_ready.wait(lock, [&] { return stopping || taken < read; });
                if (stopping) {
                    return;
                }
                batch = taken++;
            }
            Slot& slot = slots[batch % in_flight];
            try {
                for (std::size_t i = 0; i < slot.rows.size(); ++i) {
                    slot.rows.Decode(i, snapshot);
                    visit(snapshot, slot.result);
                }
            } catch (...) {
                slot.error = std::current_exception();
            }
            {
                const std::lock_guard lock(mutex);
                slot.done = true;
            }
            batch_done.notify_all();
        }
    };

    std::vector<std::thread> workers;
    // Stops and joins the workers however this function is left.
    struct Joiner {
        std::vector<std::thread>& workers;
        std::mutex& mutex;
        bool& stopping;
        std::condition_variable& work_ready;
        ~Joiner() {
            {
                const std::lock_guard lock(mutex);
                stopping = true;
            }
            work_ready.notify_all();
            for (std::thread& worker : workers) {
                worker.join();
            }
        }
    } joiner{workers, mutex, stopping, work_ready};
    for (int i = 0; i < threads; ++i) {
        workers.emplace_back(work);
    }

    // Consumes the oldest batch read; with `wait` false only when it is already done.
    auto consume_next = [&](bool wait) {
        Slot& slot = slots[consumed % in_flight];
        {
            std::unique_lock lock(mutex);
            if (!slot.done && !wait) {
                return false;
            }
            batch_done.wait(lock, [&] { return slot.done; });
        }
        if (slot.error) {
            std::rethrow_exception(slot.error);
        }
        consume(slot.result);
        slot.result.clear();
        slot.rows.clear();
        slot.done = false;
        ++consumed;  // only this thread reads or writes `consumed`
        return true;
    };

    ForEachDealRows(db, tenant, batch_size, [&](DealRows& rows) {
        while (read - consumed >= in_flight) {
            consume_next(/*wait=*/true);
        }
        Slot& slot = slots[read % in_flight];
        std::swap(slot.rows, rows);  // `rows` gets the slot's old buffers back to refill
        {
            const std::lock_guard lock(mutex);
            ++read;
        }
        work_ready.notify_one();
        while (consumed < read && consume_next(/*wait=*/false)) {
        }
    });
    while (consumed < read) {
        consume_next(/*wait=*/true);
    }
}

}  // namespace fg::storage
