namespace Aida.Telemetry.Series;

/// <summary>Sample arrays a query decodes into, kept between queries so a dashboard's repeated range queries do not
/// allocate (and page in) hundreds of megabytes of fresh large-object heap each time.</summary>
/// <remarks>Arrays shorter than <see cref="MinPooledLength"/> are plain allocations. Longer requests are rounded up to a
/// size class (a multiple of 1,024 and of an eighth of their power of two, so at most 12.5 % or 1,023 samples are
/// wasted) and served from that class's free list. At most <c>maxRetainedSamples</c> samples (16 bytes each) are kept;
/// returns beyond that are left to the collector.</remarks>
internal sealed class SampleBufferPool(long maxRetainedSamples)
{
    /// <summary>The pool the query engine uses: up to 16 million samples (256 MB) kept.</summary>
    public static SampleBufferPool Shared { get; } = new(16L << 20);

    public const int MinPooledLength = 1024;

    private readonly Lock _lock = new();
    private readonly Dictionary<int, Stack<Sample[]>> _free = [];
    private long _retained;

    /// <summary>Samples currently held for reuse.</summary>
    public long RetainedSamples
    {
        get
        {
            lock (_lock)
            {
                return _retained;
            }
        }
    }

    /// <summary>An array of at least <paramref name="minLength"/> samples; its contents are undefined.</summary>
    public Sample[] Rent(int minLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(minLength);
        if (minLength < MinPooledLength)
        {
            return minLength == 0 ? [] : new Sample[minLength];
        }

        var size = SizeClass(minLength);
        lock (_lock)
        {
            if (_free.TryGetValue(size, out var stack) && stack.Count > 0)
            {
                _retained -= size;
                return stack.Pop();
            }
        }

        return GC.AllocateUninitializedArray<Sample>(size);
    }

    /// <summary>Gives an array from <see cref="Rent"/> back; the caller must not touch it afterwards.</summary>
    public void Return(Sample[] buffer)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        if (buffer.Length < MinPooledLength || SizeClass(buffer.Length) != buffer.Length)
        {
            return;
        }

        lock (_lock)
        {
            if (_retained + buffer.Length > maxRetainedSamples)
            {
                return;
            }

            if (!_free.TryGetValue(buffer.Length, out var stack))
            {
                stack = new Stack<Sample[]>();
                _free[buffer.Length] = stack;
            }

            stack.Push(buffer);
            _retained += buffer.Length;
        }
    }

    /// <summary>The length an array for <paramref name="length"/> samples gets: rounded up to a multiple of an eighth of
    /// the power of two at or below it (1,024 at the least).</summary>
    public static int SizeClass(int length)
    {
        var highestPowerOfTwo = 1 << (31 - int.LeadingZeroCount(length));
        var granule = Math.Max(MinPooledLength, highestPowerOfTwo >> 3);
        return checked((int)(((long)length + granule - 1) / granule * granule));
    }
}

/// <summary>A store that can decode a select into arrays rented from a <see cref="SampleBufferPool"/>; the caller returns
/// them when it is done with the samples.</summary>
internal interface IPooledSeriesSource
{
    /// <summary>As <see cref="ISeriesSource.Select"/>, sorted by labels, each series' samples in the first
    /// <see cref="PooledSeries.Count"/> slots of a rented array.</summary>
    List<PooledSeries> SelectPooled(long minTimeMs, long maxTimeMs, IReadOnlyList<LabelMatcher> matchers, SampleBufferPool pool);
}

/// <summary>One selected series: its samples are <c>Buffer[0..Count]</c>, the buffer rented from a pool.</summary>
internal readonly record struct PooledSeries(Labels Labels, Sample[] Buffer, int Count);

/// <summary>Receives one selected series: its labels and its samples, valid only during the call.</summary>
internal delegate void SeriesVisitor(Labels labels, ReadOnlySpan<Sample> samples);

/// <summary>A store that can hand a select's series over one at a time, each decoded into the same scratch buffer, so a
/// caller that reduces each series as it comes (a range function over many steps) never holds them all.</summary>
internal interface IStreamingSeriesSource
{
    /// <summary>Calls <paramref name="visit"/> for every series matching all <paramref name="matchers"/> with samples in
    /// [<paramref name="minTimeMs"/>, <paramref name="maxTimeMs"/>], in label order, on the calling thread.</summary>
    void SelectEach(long minTimeMs, long maxTimeMs, IReadOnlyList<LabelMatcher> matchers, SeriesVisitor visit);

    /// <summary>How many series match all <paramref name="matchers"/> at any time: an upper bound of what
    /// <see cref="SelectEach"/> visits.</summary>
    int MatchingSeries(IReadOnlyList<LabelMatcher> matchers);
}
