// The WorkerManager: creates one worker per data type, forwards configuration changes, tells
// the vendors' health and shuts everything down in order.
#include "core/log.hpp"
#include "scheduler/worker.hpp"

#include <array>

namespace tickerd::scheduler {

namespace {

// How long the destructor waits for vendor calls when shutdown() was not called.
constexpr std::chrono::seconds kDefaultGrace{5};

}  // namespace

struct WorkerManager::Impl {
    detail::Worker& worker(DataType type) { return *workers.at(static_cast<std::size_t>(type)); }

    std::shared_ptr<detail::Services> services;
    std::array<std::shared_ptr<detail::Worker>, kAllDataTypes.size()> workers;
    std::mutex shutdown_mutex;
    bool shut_down = false;
};

WorkerManager::WorkerManager(boost::asio::io_context& io, config::StateStore& state,
                             plugins::PluginHost& plugins, bus::Bus& bus,
                             telemetry::Store& telemetry, Options options)
    : impl_(std::make_unique<Impl>()) {
    impl_->services =
        std::make_shared<detail::Services>(state, plugins, bus, telemetry, std::move(options));
    auto& services = *impl_->services;
    if (auto calendar = BarCalendar::in_zone(services.options.bars.daily_time_zone)) {
        std::vector<BarInterval> intervals;
        for (const auto& name : services.options.bars.intervals) {
            if (auto interval = parse_bar_interval(name)) intervals.push_back(*interval);
        }
        services.bars = std::make_shared<detail::BarFeed>(io, bus, state, services.options,
                                                          std::move(intervals), *calendar);
        services.bars->start();
    } else {  // main checks the settings first (check_bar_settings)
        BOOST_LOG_TRIVIAL(error) << "bars: " << calendar.error().detail << "; no bars";
    }
    for (auto type : kAllDataTypes) {
        auto index = static_cast<std::size_t>(type);
        impl_->workers[index] = std::make_shared<detail::Worker>(
            io, type, impl_->services, impl_->services->options.seed + index);
    }
    // The store cannot forget a listener, so it only holds weak references to the workers.
    std::vector<std::weak_ptr<detail::Worker>> workers(impl_->workers.begin(),
                                                       impl_->workers.end());
    state.on_change([workers] {
        for (const auto& weak : workers) {
            if (auto worker = weak.lock()) worker->config_changed();
        }
    });
}

WorkerManager::~WorkerManager() {
    shutdown(kDefaultGrace);
}

void WorkerManager::start(DataType type) {
    impl_->worker(type).start();
}

void WorkerManager::stop(DataType type) {
    impl_->worker(type).stop();
}

void WorkerManager::start_all() {
    for (auto& worker : impl_->workers)
        worker->start();
}

void WorkerManager::stop_all() {
    for (auto& worker : impl_->workers)
        worker->stop();
}

std::vector<WorkerStatus> WorkerManager::statuses() const {
    std::vector<WorkerStatus> all;
    for (const auto& worker : impl_->workers)
        all.push_back(worker->status());
    return all;
}

WorkerStatus WorkerManager::status(DataType type) const {
    return impl_->worker(type).status();
}

std::map<std::string, VendorHealth> WorkerManager::vendor_health() const {
    std::map<std::string, VendorHealth> health;
    for (auto& benched : impl_->services->bench.benched()) {
        auto vendor = benched.vendor;
        health[vendor].benched = std::move(benched);
    }
    for (const auto& [vendor, stuck] : impl_->services->threads.stuck_calls())
        health[vendor].stuck_calls = stuck;
    return health;
}

Result<std::string> WorkerManager::publish(const bus::Publication& publication) {
    auto& services = *impl_->services;
    auto type = publication.channel.data_type();
    const auto& symbol = publication.channel.symbol;
    auto channel = publication.channel.name();
    if (!type) return Error::invalid("channel", channel + " is not a polled data type's channel");
    if (const auto& share = services.options.share) {
        if (!share->owns(*type, symbol)) {
            return Error(409, channel +
                                  " is polled by another instance, which numbers its messages: "
                                  "publish it there, or into a published type");
        }
        services.bus.sequencer().continue_after(channel, share->seq_floor(channel));
    }
    auto config = services.state.snapshot();
    auto cadence = config->cadence(*type);
    std::chrono::system_clock::time_point published;
    auto id = services.bus.sequencer().publish_next(channel, [&](uint64_t seq) {
        auto message = bus::make_message(publication, seq, services.options.wall_clock());
        services.bus.publish(message, latest_ttl(config->global, &cadence));
        published = message->timestamp;
        return Result<std::string>(message->id);
    });
    if (id && *type == DataType::market_data)
        services.market_data_published(symbol, publication.data, published);
    return id;
}

std::optional<boost::json::object> WorkerManager::bars(const std::string& symbol,
                                                       const std::string& interval,
                                                       std::size_t limit) const {
    const auto& feed = impl_->services->bars;
    if (!feed) return std::nullopt;
    auto recent = feed->recent(symbol, interval, limit);
    if (!recent) return std::nullopt;
    boost::json::array finals;
    for (const auto& bar : recent->finals)
        finals.push_back(to_json(bar, symbol, interval));
    boost::json::value current = nullptr;
    if (recent->current) current = to_json(*recent->current, symbol, interval);
    return boost::json::object{{"bars", std::move(finals)}, {"current", std::move(current)}};
}

Result<void> check_bar_settings(const BarSettings& bars) {
    for (const auto& name : bars.intervals) {
        if (auto interval = parse_bar_interval(name); !interval) return interval.error();
    }
    if (auto calendar = BarCalendar::in_zone(bars.daily_time_zone); !calendar)
        return calendar.error();
    return {};
}

// Calls that ignore their cancel flag are left running: their threads hold only their
// instance, so nothing of the scheduler's goes with them, and the daemon exits on time.
void WorkerManager::shutdown(std::chrono::milliseconds grace) {
    std::lock_guard lock(impl_->shutdown_mutex);
    if (impl_->shut_down) return;
    impl_->shut_down = true;
    if (impl_->services->bars) impl_->services->bars->stop();
    for (auto& worker : impl_->workers)
        worker->close();
    auto& threads = impl_->services->threads;
    threads.wait_idle(grace);
    if (int left = threads.close(); left > 0) {
        BOOST_LOG_TRIVIAL(warning) << "scheduler: " << left << " vendor call(s) still running "
                                   << grace.count() << " ms after the shutdown began (a plugin "
                                   << "ignores cancellation); leaving them";
    }
}

}  // namespace tickerd::scheduler
