#include "syncmetrics.h"

#include "metricsregistry.h"
#include "synccontroller.h"

void SyncMetrics::collectGateway(MetricsRegistry *registry, GatewayStatus::State state, bool ready,
                                 qint64 liveRevision)
{
    MetricsRegistry &m = *registry;
    m.setGauge("holdfast_config_live_revision", "Revision of the configuration being served.",
               double(liveRevision));
    m.setGauge("holdfast_ready", "1 while a configuration is being served.", ready ? 1 : 0);
    for (GatewayStatus::State s : GatewayStatus::allStates())
        m.setGauge("holdfast_sync_state", "1 for the gateway's sync state, 0 for the others.",
                   state == s ? 1 : 0, {{"state", GatewayStatus::stateName(s).toLatin1()}});
}

void SyncMetrics::collectSync(MetricsRegistry *registry, const SyncController &sync)
{
    MetricsRegistry &m = *registry;
    const SyncController::Figures &f = sync.figures();
    const SourceStatus source = sync.sourceStatus();
    const auto &persisted = sync.persisted();
    m.setGauge("holdfast_config_persisted_revision", "Revision of the configuration on disk (-1: none).",
               persisted ? double(persisted->revision) : -1);
    m.setGauge("holdfast_control_plane_connected", "1 while connected to the control plane.",
               source.connected ? 1 : 0);
    m.setGauge("holdfast_control_plane_last_contact_seconds",
               "Seconds since the control plane last answered (-1: never since start).",
               source.lastOk.isValid()
                   ? double(source.lastOk.msecsTo(QDateTime::currentDateTimeUtc())) / 1000.0
                   : -1);
    m.setCounter("holdfast_sync_full_syncs_total", "Full syncs applied.", double(f.fullSyncs));
    m.setCounter("holdfast_sync_changes_applied_total", "Objects put or deleted from the control plane.",
                 double(f.changesApplied));
    m.setCounter("holdfast_sync_rejections_total", "Objects rejected by validation.", double(f.rejections));
    m.setGauge("holdfast_sync_rejected_objects",
               "Objects currently rejected (their last good version serves).",
               double(sync.rejections().size()));
    m.setGauge("holdfast_sync_ignored_keys",
               "Keys under the prefix that are not routes, upstreams or services.",
               double(sync.ignoredKeys()));
    m.setCounter("holdfast_persist_saves_total", "Generations written to the local copy.",
                 double(f.persistSaves));
    m.setCounter("holdfast_persist_failures_total", "Failed attempts to write the local copy.",
                 double(f.persistFailures));
    m.setGauge("holdfast_persist_error", "1 while the last attempt to write the local copy failed.",
               sync.persistError().isEmpty() ? 0 : 1);
    m.setGauge("holdfast_persist_latency_seconds",
               "From a change being applied to it being on disk, last save.",
               f.lastPersistLatencyMs >= 0 ? double(f.lastPersistLatencyMs) / 1000.0 : 0);
    m.setCounter("holdfast_persist_latency_seconds_total", "Sum of the apply-to-disk latency of every save.",
                 f.persistLatencySumSeconds);
}
