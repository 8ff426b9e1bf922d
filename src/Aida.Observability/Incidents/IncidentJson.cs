using System.Text.Json;

namespace Aida.Observability.Incidents;

/// <summary>Incidents as JSON, one shape for every face that prints them (<c>aida incidents --json</c>, the MCP
/// server's tools).</summary>
internal static class IncidentJson
{
    /// <summary>An incident: id, title, state, severity, times, alert count and assets (alerts by asset).</summary>
    public static void Write(Utf8JsonWriter w, Incident i)
    {
        w.WriteStartObject();
        w.WriteNumber("id", i.Id);
        w.WriteString("title", i.Title);
        w.WriteString("state", IncidentStore.Name(i.State));
        w.WriteString("severity", i.Severity);
        w.WriteString("opened", i.Opened);
        w.WriteString("last_alert", i.LastAlert);
        w.WriteString("updated", i.Updated);
        if (i.Resolved is { } r)
        {
            w.WriteString("resolved", r);
        }
        else
        {
            w.WriteNull("resolved");
        }

        w.WriteNumber("alert_count", i.AlertCount);
        w.WriteStartObject("assets");
        foreach (var (asset, count) in i.Assets)
        {
            w.WriteNumber(asset, count);
        }

        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>An incident with its timeline (oldest first) and its root-cause candidates, ranked, each with its
    /// evidence (<c>root_cause</c> is null when no finding is attached).</summary>
    public static void Write(Utf8JsonWriter w, IncidentDetail detail)
    {
        w.WriteStartObject();
        w.WritePropertyName("incident");
        Write(w, detail.Incident);
        w.WriteStartArray("timeline");
        foreach (var e in detail.Timeline)
        {
            w.WriteStartObject();
            w.WriteString("at", e.At);
            w.WriteString("kind", e.Kind switch
            {
                TimelineEntryKind.AlertFolded => "alert-folded",
                TimelineEntryKind.StateChanged => "state-changed",
                _ => "root-cause-attached",
            });
            w.WriteString("text", e.Text);
            if (e.By is not null)
            {
                w.WriteString("by", e.By);
            }

            if (e.From is { } from && e.To is { } to)
            {
                w.WriteString("from", IncidentStore.Name(from));
                w.WriteString("to", IncidentStore.Name(to));
            }

            if (e.Asset is not null)
            {
                w.WriteString("asset", e.Asset);
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
        if (detail.RootCause is { } finding)
        {
            w.WriteStartArray("root_cause");
            foreach (var c in finding.Ranked)
            {
                w.WriteStartObject();
                w.WriteString("asset", c.Asset);
                w.WriteString("fault_kind", c.FaultKind);
                w.WriteNumber("score", c.Score);
                w.WriteStartArray("evidence");
                foreach (var e in c.Evidence)
                {
                    w.WriteStringValue(e);
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }
        else
        {
            w.WriteNull("root_cause");
        }

        w.WriteEndObject();
    }
}
