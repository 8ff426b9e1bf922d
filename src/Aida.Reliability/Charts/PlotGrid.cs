using ScottPlot;
using SkiaSharp;

namespace Aida.Reliability.Charts;

/// <summary>Renders ScottPlot panels in a grid, left to right then top to bottom, as one PNG or SVG image.</summary>
/// <remarks>Shared by <c>aida frontier</c> (one image of four panels) and <c>aida compare</c> (one inline SVG per chart).</remarks>
internal static class PlotGrid
{
    /// <summary>The size of one panel in pixels and how many panels a row holds.</summary>
    public sealed record Layout(int PanelWidth, int PanelHeight, int Columns);

    public static void SavePng(IReadOnlyList<Plot> plots, Layout layout, string path)
    {
        var (width, height) = Size(plots, layout);
        using var surface = SKSurface.Create(new SKImageInfo(width, height));
        surface.Canvas.Clear(SKColors.White);
        Render(surface.Canvas, plots, layout);
        using var image = surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        using var file = File.Create(path);
        data.SaveTo(file);
    }

    public static void SaveSvg(IReadOnlyList<Plot> plots, Layout layout, string path)
    {
        using var file = File.Create(path);
        WriteSvg(plots, layout, file);
    }

    /// <summary>The grid as SVG text.</summary>
    public static string Svg(IReadOnlyList<Plot> plots, Layout layout)
    {
        using var stream = new MemoryStream();
        WriteSvg(plots, layout, stream);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    private static void WriteSvg(IReadOnlyList<Plot> plots, Layout layout, Stream stream)
    {
        var (width, height) = Size(plots, layout);

        // The canvas writes the document's end when it is disposed, before the stream is read or closed.
        using var canvas = SKSvgCanvas.Create(new SKRect(0, 0, width, height), stream);
        Render(canvas, plots, layout);
    }

    private static (int Width, int Height) Size(IReadOnlyList<Plot> plots, Layout layout) =>
        (layout.PanelWidth * layout.Columns, layout.PanelHeight * ((plots.Count + layout.Columns - 1) / layout.Columns));

    private static void Render(SKCanvas canvas, IReadOnlyList<Plot> plots, Layout layout)
    {
        for (var i = 0; i < plots.Count; i++)
        {
            // A plot clears its canvas before drawing: the clip keeps it to its own panel.
            float left = i % layout.Columns * layout.PanelWidth, top = i / layout.Columns * layout.PanelHeight;
            canvas.Save();
            canvas.ClipRect(new SKRect(left, top, left + layout.PanelWidth, top + layout.PanelHeight));
            plots[i].Render(canvas, new PixelRect(left, left + layout.PanelWidth, top + layout.PanelHeight, top));
            canvas.Restore();
        }
    }
}
