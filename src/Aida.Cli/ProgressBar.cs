namespace Aida.Cli;

/// <summary>A one-line progress bar on standard error, drawn only when it is a terminal.</summary>
internal sealed class ProgressBar(TextWriter stderr, bool enabled, string label)
{
    private int _last = -1;

    public void Report(double fraction)
    {
        if (!enabled)
        {
            return;
        }

        var percent = (int)Math.Round(fraction * 100);
        if (percent == _last)
        {
            return;
        }

        _last = percent;
        const int width = 30;
        var filled = percent * width / 100;
        stderr.Write($"\r{label} [{new string('#', filled)}{new string('.', width - filled)}] {percent,3}%");
        if (percent >= 100)
        {
            stderr.Write("\r" + new string(' ', label.Length + width + 10) + "\r");
        }

        stderr.Flush();
    }

    public static bool IsTerminal => !Console.IsErrorRedirected;
}
