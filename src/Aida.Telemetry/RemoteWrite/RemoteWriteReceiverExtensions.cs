using Aida.Telemetry.Series;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Aida.Telemetry.RemoteWrite;

/// <summary>The remote-write 1.0 receiver endpoint, <c>POST /api/v1/write</c>.</summary>
public static class RemoteWriteReceiverExtensions
{
    /// <summary>How far ahead of the clock a sample may be, as Prometheus' receiver (<c>maxAheadTime</c>).</summary>
    public static readonly TimeSpan MaxAheadTime = TimeSpan.FromMinutes(10);

    /// <summary>Largest compressed body read.</summary>
    public const int MaxBodyBytes = 32 << 20;

    /// <summary>Maps <c>POST /api/v1/write</c> onto <paramref name="appender"/>.</summary>
    /// <remarks>
    /// The whole request is decompressed, decoded and validated (label naming rules, samples in time order within each
    /// series, nothing more than <see cref="MaxAheadTime"/> ahead of <paramref name="clock"/>) before the first sample is
    /// appended: a malformed or invalid request gets 400 with a plain-text reason and changes nothing. A valid request is
    /// appended in full and answered 204. NaN, ±Inf and staleness markers are ordinary values. Samples the store refuses
    /// (out of order, conflicting duplicate, out of bounds) make the answer 400 with the counts, as Prometheus' 1.0 handler
    /// answers 400 for them so that senders do not retry; unlike Prometheus, whose appender rolls the request back, the
    /// samples the store accepted stay (<see cref="ISampleAppender"/> has no rollback). Identical duplicates (a resent
    /// request) are accepted silently, as in Prometheus.
    /// </remarks>
    public static IEndpointConventionBuilder MapRemoteWrite(this IEndpointRouteBuilder endpoints, ISampleAppender appender, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(appender);
        ArgumentNullException.ThrowIfNull(clock);
        return endpoints.MapPost("/api/v1/write", (HttpContext context) => HandleAsync(context, appender, clock));
    }

    private static async Task HandleAsync(HttpContext context, ISampleAppender appender, TimeProvider clock)
    {
        var encoding = context.Request.Headers.ContentEncoding.ToString();
        if (encoding.Length > 0 && !string.Equals(encoding.Trim(), "snappy", StringComparison.OrdinalIgnoreCase))
        {
            await PlainAsync(context, StatusCodes.Status415UnsupportedMediaType, $"{encoding} encoding (compression) is not accepted by this server; only snappy is acceptable");
            return;
        }

        var contentType = context.Request.ContentType;
        if (!string.IsNullOrEmpty(contentType) && !IsProtobufV1(contentType))
        {
            await PlainAsync(context, StatusCodes.Status415UnsupportedMediaType, $"expected {WriteRequestCodec.ContentType} (remote-write 1.0), got {contentType} content-type");
            return;
        }

        byte[] body;
        try
        {
            body = await ReadBodyAsync(context.Request, context.RequestAborted);
        }
        catch (InvalidDataException e)
        {
            await PlainAsync(context, StatusCodes.Status413PayloadTooLarge, e.Message);
            return;
        }

        IReadOnlyList<SeriesSamples> request;
        try
        {
            request = WriteRequestCodec.DecodeCompressed(body);
        }
        catch (RemoteWriteFormatException e)
        {
            await PlainAsync(context, StatusCodes.Status400BadRequest, e.Message);
            return;
        }

        var problem = Validate(request, clock.GetUtcNow().ToUnixTimeMilliseconds() + (long)MaxAheadTime.TotalMilliseconds);
        if (problem is not null)
        {
            await PlainAsync(context, StatusCodes.Status400BadRequest, problem);
            return;
        }

        var tally = Append(request, appender);
        context.Response.Headers["X-Aida-Samples-Appended"] = tally.Appended.ToString();
        if (tally.Refused == 0)
        {
            context.Response.StatusCode = StatusCodes.Status204NoContent;
            return;
        }

        await PlainAsync(context, StatusCodes.Status400BadRequest, tally.Describe());
    }

    /// <summary>Null when every series of the request may be appended, otherwise the first problem.</summary>
    internal static string? Validate(IReadOnlyList<SeriesSamples> request, long maxTimestampMs)
    {
        for (var i = 0; i < request.Count; i++)
        {
            var series = request[i];
            var labelProblem = LabelRules.Validate(series.Labels);
            if (labelProblem is not null)
            {
                return $"time series #{i}: {labelProblem}";
            }

            var samples = series.Samples;
            for (var j = 0; j < samples.Count; j++)
            {
                if (j > 0 && samples[j].TimestampMs < samples[j - 1].TimestampMs)
                {
                    return $"out of order sample: samples of {series.Labels} are not sorted by time (sample #{j} at {samples[j].TimestampMs} ms follows {samples[j - 1].TimestampMs} ms)";
                }

                if (samples[j].TimestampMs > maxTimestampMs)
                {
                    return $"out of bounds: sample of {series.Labels} at {samples[j].TimestampMs} ms is more than {MaxAheadTime.TotalMinutes:0} minutes in the future";
                }
            }
        }

        return null;
    }

    internal static AppendTally Append(IReadOnlyList<SeriesSamples> request, ISampleAppender appender)
    {
        var tally = new AppendTally();
        foreach (var series in request)
        {
            if (series.Samples.Count == 0)
            {
                continue;
            }

            var reference = appender.GetOrCreateSeries(series.Labels);
            foreach (var sample in series.Samples)
            {
                tally.Count(appender.Append(reference, sample.TimestampMs, sample.Value), series.Labels);
            }
        }

        return tally;
    }

    private static bool IsProtobufV1(string contentType)
    {
        var parts = contentType.Split(';', StringSplitOptions.TrimEntries);
        if (!string.Equals(parts[0], WriteRequestCodec.ContentType, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        foreach (var p in parts.AsSpan(1))
        {
            if (p.StartsWith("proto=", StringComparison.OrdinalIgnoreCase) && !string.Equals(p[6..], "prometheus.WriteRequest", StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    private static async Task<byte[]> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength > MaxBodyBytes)
        {
            throw new InvalidDataException($"request body of {request.ContentLength} bytes exceeds the limit of {MaxBodyBytes} bytes");
        }

        using var buffer = new MemoryStream(request.ContentLength is { } n ? (int)n : 4096);
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes)
            {
                throw new InvalidDataException($"request body exceeds the limit of {MaxBodyBytes} bytes");
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    private static Task PlainAsync(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(message + "\n", context.RequestAborted);
    }

    internal sealed class AppendTally
    {
        private Labels? _firstRefused;
        private AppendStatus _firstStatus;

        public int Appended { get; private set; }

        public int Duplicates { get; private set; }

        public int OutOfOrder { get; private set; }

        public int Conflicts { get; private set; }

        public int OutOfBounds { get; private set; }

        public int Refused => OutOfOrder + Conflicts + OutOfBounds;

        public void Count(AppendStatus status, Labels series)
        {
            switch (status)
            {
                case AppendStatus.Ok:
                    Appended++;
                    return;
                case AppendStatus.Duplicate:
                    Duplicates++;
                    return;
                case AppendStatus.OutOfOrder:
                    OutOfOrder++;
                    break;
                case AppendStatus.DuplicateConflict:
                    Conflicts++;
                    break;
                default:
                    OutOfBounds++;
                    break;
            }

            if (_firstRefused is null)
            {
                _firstRefused = series;
                _firstStatus = status;
            }
        }

        /// <summary>Prometheus' wording for the first refusal, then the counts.</summary>
        public string Describe()
        {
            var reason = _firstStatus switch
            {
                AppendStatus.OutOfOrder => "out of order sample",
                AppendStatus.DuplicateConflict => "duplicate sample for timestamp",
                _ => "out of bounds",
            };
            return $"{reason} for series {_firstRefused}: {Refused} samples refused ({OutOfOrder} out of order, {Conflicts} duplicate sample for timestamp, " +
                $"{OutOfBounds} out of bounds), {Appended} appended, {Duplicates} identical duplicates ignored";
        }
    }
}
