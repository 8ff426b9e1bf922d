using System.Buffers;
using System.IO.MemoryMappedFiles;
using System.Runtime.Intrinsics.X86;

namespace Aida.Telemetry.Storage;

/// <summary>A block's chunk bytes: an array while the block is built in memory (cut from the head or merged), the
/// block's <c>chunks</c> file mapped read-only once it is on disk. Mapped, the pages are the kernel's page cache: a query
/// faults in what it reads, and the kernel drops clean pages under memory pressure, so a store's resident memory no
/// longer grows with every block it keeps (as Prometheus maps its blocks).</summary>
/// <remarks>The mapping lives as long as this object (its <see cref="MappedFile"/>, unmapped by that one's finalizer): a
/// query holds it through the <see cref="ReadOnlyMemory{T}"/> it reads a chunk from (<see cref="MemoryOf"/>, whose
/// owner this is) and decodes while it holds that memory, so a block dropped by retention or replaced by a merge while a
/// query still reads it stays mapped until that query lets go. Deleting the file meanwhile is safe on Linux: the mapping
/// keeps the inode.</remarks>
internal sealed unsafe class BlockChunks : MemoryManager<byte>
{
    private readonly byte[]? _array;
    private readonly MappedFile? _mapped;
    private readonly byte* _pointer;

    public BlockChunks(byte[] array)
    {
        _array = array;
        Length = array.Length;
    }

    private BlockChunks(MappedFile mapped, int length)
    {
        _mapped = mapped;
        _pointer = mapped.Pointer;
        Length = length;
    }

    /// <summary>Bytes held.</summary>
    public int Length { get; }

    /// <summary>Whether the bytes are a mapped file rather than an array.</summary>
    public bool IsMapped => _mapped is not null;

    /// <summary>The array of a block built in memory, to write; null once mapped.</summary>
    public byte[]? Array => _array;

    /// <summary>Maps <paramref name="path"/> read-only; an empty file is an empty array (nothing to map).</summary>
    /// <exception cref="InvalidDataException">It is larger than a block's chunk data may be (2 GiB).</exception>
    public static BlockChunks Map(string path)
    {
        var length = new FileInfo(path).Length;
        if (length == 0)
        {
            return new BlockChunks([]);
        }

        if (length > int.MaxValue)
        {
            throw new InvalidDataException($"{Path.GetFileName(path)}: {length} bytes, more than a block's chunk data may hold");
        }

        return new BlockChunks(new MappedFile(path, length), (int)length);
    }

    public ReadOnlySpan<byte> Span(int offset, int length) => All.Slice(offset, length);

    /// <summary>The chunk at <paramref name="offset"/> as memory that keeps the mapping alive while it is held.</summary>
    public ReadOnlyMemory<byte> MemoryOf(int offset, int length) => _array is not null ? _array.AsMemory(offset, length) : CreateMemory(offset, length);

    /// <summary>Every byte.</summary>
    public ReadOnlySpan<byte> All => _array is not null ? _array : new ReadOnlySpan<byte>(_pointer, Length);

    /// <summary>Asks the processor to load [<paramref name="from"/>, <paramref name="to"/>) into its cache; a hint
    /// that never faults (on a mapped page not yet read it is dropped, and the read faults it in).</summary>
    public void Prefetch(int from, int to)
    {
        if (!Sse.IsSupported || from >= to)
        {
            return;
        }

        fixed (byte* array = _array)
        {
            var data = _array is null ? _pointer : array;
            for (var at = from; at < to; at += 64)
            {
                Sse.Prefetch0(data + at);
            }
        }
    }

    // As a MemoryManager it serves only the mapped bytes (an array's memory is the array's own).
    public override Span<byte> GetSpan() => new(_pointer, Length);

    public override MemoryHandle Pin(int elementIndex = 0) => new(_pointer + elementIndex, default, this);

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing)
    {
        // Never unmapped while reachable: see the remarks. Only the mapping's finalizer releases it.
    }

    /// <summary>A file mapped read-only, unmapped when nothing refers to it any more.</summary>
    private sealed class MappedFile
    {
        private readonly MemoryMappedFile _file;
        private readonly MemoryMappedViewAccessor _view;

        public MappedFile(string path, long length)
        {
            _file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
            try
            {
                _view = _file.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
                byte* pointer = null;
                _view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
                Pointer = pointer + _view.PointerOffset;
            }
            catch
            {
                // Not mapped: nothing for the finalizer to release (it would meet a view never made).
                GC.SuppressFinalize(this);
                _view?.Dispose();
                _file.Dispose();
                throw;
            }
        }

        ~MappedFile()
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
            _file.Dispose();
        }

        public byte* Pointer { get; }
    }
}
