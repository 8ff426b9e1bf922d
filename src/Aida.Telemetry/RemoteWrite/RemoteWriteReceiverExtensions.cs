using System.Buffers;
using System.Globalization;
using Aida.Telemetry.Series;
using Aida.Telemetry.Storage;
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
    /// <para>The whole request is decompressed, decoded and validated (label naming rules, samples in time order within
    /// each series, nothing more than <see cref="MaxAheadTime"/> ahead of <paramref name="clock"/>) before the first sample
    /// is appended: a malformed or invalid request gets 400 with a plain-text reason and changes nothing. A valid request
    /// is appended in full and answered 204. NaN, ±Inf and staleness markers are ordinary values. Samples the store
    /// refuses (out of order, conflicting duplicate, out of bounds) make the answer 400 with the counts, as Prometheus' 1.0
    /// handler answers 400 for them so that senders do not retry; unlike Prometheus, whose appender rolls the request back,
    /// the samples the store accepted stay (<see cref="ISampleAppender"/> has no rollback). Identical duplicates (a resent
    /// request) are accepted silently, as in Prometheus.</para>
    /// <para>Series are looked up by the bytes of their labels as sent (<see cref="SeriesRefCache"/>, one per mapping), so
    /// a known series is never decoded into strings again. A <see cref="Tsdb"/> takes each request's samples in one
    /// <see cref="Tsdb.AppendBatch"/> (one lock); another appender gets one <see cref="ISampleAppender.Append"/> per sample.</para>
    /// </remarks>
    public static IEndpointConventionBuilder MapRemoteWrite(this IEndpointRouteBuilder endpoints, ISampleAppender appender, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(appender);
        ArgumentNullException.ThrowIfNull(clock);
        var cache = new SeriesRefCache();
        return endpoints.MapPost("/api/v1/write", (HttpContext context) => HandleAsync(context, appender, cache, clock));
    }

    private static async Task HandleAsync(HttpContext context, ISampleAppender appender, SeriesRefCache cache, TimeProvider clock)
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
        int length;
        try
        {
            (body, length) = await ReadBodyAsync(context.Request, context.RequestAborted);
        }
        catch (InvalidDataException e)
        {
            await PlainAsync(context, StatusCodes.Status413PayloadTooLarge, e.Message);
            return;
        }

        ReceiveResult result;
        try
        {
            result = Receive(body.AsSpan(0, length), appender, cache, clock.GetUtcNow().ToUnixTimeMilliseconds() + (long)MaxAheadTime.TotalMilliseconds);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(body);
        }

        if (result.Applied)
        {
            context.Response.Headers["X-Aida-Samples-Appended"] = result.Appended.ToString(CultureInfo.InvariantCulture);
        }

        if (result.Problem is null)
        {
            context.Response.StatusCode = StatusCodes.Status204NoContent;
            return;
        }

        await PlainAsync(context, StatusCodes.Status400BadRequest, result.Problem);
    }

    /// <summary>Decodes, validates and appends one request body (snappy-compressed protobuf).</summary>
    internal static ReceiveResult Receive(ReadOnlySpan<byte> body, ISampleAppender appender, SeriesRefCache cache, long maxTimestampMs)
    {
        DecodedWriteRequest request;
        try
        {
            request = WriteRequestCodec.DecodeStructure(body);
        }
        catch (RemoteWriteFormatException e)
        {
            return ReceiveResult.Rejected(e.Message);
        }

        using (request)
        {
            var refs = ArrayPool<int>.Shared.Rent(Math.Max(request.SeriesCount, 1));
            try
            {
                Labels?[]? decoded;
                try
                {
                    decoded = Resolve(request, cache, refs);
                }
                catch (RemoteWriteFormatException e)
                {
                    return ReceiveResult.Rejected(e.Message);
                }

                return Validate(request, decoded, maxTimestampMs) is { } problem
                    ? ReceiveResult.Rejected(problem)
                    : Append(request, decoded, refs, appender, cache);
            }
            finally
            {
                ArrayPool<int>.Shared.Return(refs);
            }
        }
    }

    /// <summary>Sets each series' reference from the cache; for a series the cache does not know, sets -1 and decodes its
    /// labels into the returned array (null when every series was known).</summary>
    private static Labels?[]? Resolve(DecodedWriteRequest request, SeriesRefCache cache, int[] refs)
    {
        Labels?[]? decoded = null;
        for (var i = 0; i < request.SeriesCount; i++)
        {
            if (request.Series(i).LabelBytesOnly && cache.TryGet(request.LabelBytes(i), cache.Hash(request.LabelBytes(i)), out refs[i]))
            {
                continue;
            }

            refs[i] = -1;
            decoded ??= new Labels?[request.SeriesCount];
            decoded[i] = WriteRequestCodec.DecodeLabels(request, i);
        }

        return decoded;
    }

    /// <summary>Null when every series of the request may be appended, otherwise the first problem. Series the cache
    /// knew passed the label rules when they were first seen.</summary>
    private static string? Validate(DecodedWriteRequest request, Labels?[]? decoded, long maxTimestampMs)
    {
        var timestamps = request.Timestamps;
        for (var i = 0; i < request.SeriesCount; i++)
        {
            if (decoded?[i] is { } labels && LabelRules.Validate(labels) is { } labelProblem)
            {
                return $"time series #{i}: {labelProblem}";
            }

            var entry = request.Series(i);
            var samples = timestamps.Slice(entry.FirstSample, entry.SampleCount);
            for (var j = 0; j < samples.Length; j++)
            {
                if (j > 0 && samples[j] < samples[j - 1])
                {
                    return $"out of order sample: samples of {LabelsOf(request, decoded, i)} are not sorted by time (sample #{j} at {samples[j]} ms follows {samples[j - 1]} ms)";
                }

                if (samples[j] > maxTimestampMs)
                {
                    return $"out of bounds: sample of {LabelsOf(request, decoded, i)} at {samples[j]} ms is more than {MaxAheadTime.TotalMinutes:0} minutes in the future";
                }
            }
        }

        return null;
    }

    /// <summary>Creates the series the cache did not know, then appends every sample of the request.</summary>
    private static ReceiveResult Append(DecodedWriteRequest request, Labels?[]? decoded, int[] refs, ISampleAppender appender, SeriesRefCache cache)
    {
        var count = request.SampleCount;
        var seriesOfSample = ArrayPool<int>.Shared.Rent(Math.Max(count, 1));
        var statuses = ArrayPool<AppendStatus>.Shared.Rent(Math.Max(count, 1));
        try
        {
            for (var i = 0; i < request.SeriesCount; i++)
            {
                var entry = request.Series(i);
                if (entry.SampleCount == 0)
                {
                    continue;
                }

                if (refs[i] < 0)
                {
                    refs[i] = appender.GetOrCreateSeries(decoded![i]!);
                    if (entry.LabelBytesOnly)
                    {
                        cache.Add(request.LabelBytes(i), cache.Hash(request.LabelBytes(i)), refs[i]);
                    }
                }

                seriesOfSample.AsSpan(entry.FirstSample, entry.SampleCount).Fill(refs[i]);
            }

            var series = seriesOfSample.AsSpan(0, count);
            var status = statuses.AsSpan(0, count);
            var timestamps = request.Timestamps;
            var values = request.Values;
            appender.AppendBatch(series, timestamps, values, status);

            var tally = new AppendTally();
            for (var k = 0; k < count; k++)
            {
                tally.Count(status[k], k);
            }

            return tally.Refused == 0
                ? ReceiveResult.Stored(tally.Appended)
                : ReceiveResult.PartlyRefused(tally.Appended, tally.Describe(LabelsOf(request, decoded, SeriesOfSample(request, tally.FirstRefusedSample))));
        }
        finally
        {
            ArrayPool<int>.Shared.Return(seriesOfSample);
            ArrayPool<AppendStatus>.Shared.Return(statuses);
        }
    }

    private static Labels LabelsOf(DecodedWriteRequest request, Labels?[]? decoded, int series) =>
        decoded?[series] ?? WriteRequestCodec.DecodeLabels(request, series);

    private static int SeriesOfSample(DecodedWriteRequest request, int sample)
    {
        var i = 0;
        while (request.Series(i).FirstSample + request.Series(i).SampleCount <= sample)
        {
            i++;
        }

        return i;
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

    /// <summary>The body in a buffer rented from <see cref="ArrayPool{T}.Shared"/>, which the caller returns.</summary>
    private static async Task<(byte[] Buffer, int Length)> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var expected = request.ContentLength;
        if (expected > MaxBodyBytes)
        {
            throw new InvalidDataException($"request body of {expected} bytes exceeds the limit of {MaxBodyBytes} bytes");
        }

        var buffer = ArrayPool<byte>.Shared.Rent(expected is { } n ? (int)Math.Max(n, 1) : 16 * 1024);
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (length == expected)
                    {
                        return (buffer, length);
                    }

                    var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, MaxBodyBytes + 1));
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }

                var read = await request.Body.ReadAsync(buffer.AsMemory(length), cancellationToken);
                if (read == 0)
                {
                    return (buffer, length);
                }

                length += read;
                if (length > MaxBodyBytes)
                {
                    throw new InvalidDataException($"request body exceeds the limit of {MaxBodyBytes} bytes");
                }
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    private static Task PlainAsync(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(message + "\n", context.RequestAborted);
    }

    /// <summary>What became of a request: rejected whole (nothing applied), or applied with the count stored and, when
    /// the store refused some samples, the reason.</summary>
    internal readonly record struct ReceiveResult(bool Applied, int Appended, string? Problem)
    {
        public static ReceiveResult Rejected(string problem) => new(false, 0, problem);

        public static ReceiveResult Stored(int appended) => new(true, appended, null);

        public static ReceiveResult PartlyRefused(int appended, string problem) => new(true, appended, problem);
    }

    internal sealed class AppendTally
    {
        private AppendStatus _firstStatus;

        public int Appended { get; private set; }

        public int Duplicates { get; private set; }

        public int OutOfOrder { get; private set; }

        public int Conflicts { get; private set; }

        public int OutOfBounds { get; private set; }

        public int Refused => OutOfOrder + Conflicts + OutOfBounds;

        /// <summary>Index of the first refused sample in the request, or -1.</summary>
        public int FirstRefusedSample { get; private set; } = -1;

        public void Count(AppendStatus status, int sample)
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

            if (FirstRefusedSample < 0)
            {
                FirstRefusedSample = sample;
                _firstStatus = status;
            }
        }

        /// <summary>Prometheus' wording for the first refusal (a sample of <paramref name="series"/>), then the counts.</summary>
        public string Describe(Labels series)
        {
            var reason = _firstStatus switch
            {
                AppendStatus.OutOfOrder => "out of order sample",
                AppendStatus.DuplicateConflict => "duplicate sample for timestamp",
                _ => "out of bounds",
            };
            return $"{reason} for series {series}: {Refused} samples refused ({OutOfOrder} out of order, {Conflicts} duplicate sample for timestamp, " +
                $"{OutOfBounds} out of bounds), {Appended} appended, {Duplicates} identical duplicates ignored";
        }
    }
}
