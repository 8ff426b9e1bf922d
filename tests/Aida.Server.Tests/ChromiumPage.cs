using Microsoft.Playwright;

namespace Aida.Server.Tests;

/// <summary>A page in Debian's headless chromium (PEERS.md), driven by Playwright for .NET, which never downloads a
/// browser here; shared by the server's browser test and the run's (linked into Aida.Cli.Tests).</summary>
internal sealed class ChromiumPage : IAsyncDisposable
{
    private readonly IPlaywright _playwright;
    private readonly IBrowser _browser;

    private ChromiumPage(IPlaywright playwright, IBrowser browser, IPage page) => (_playwright, _browser, Page) = (playwright, browser, page);

    public IPage Page { get; }

    /// <summary>A 1280x900 page of <paramref name="chromium"/>, every wait and expectation allowed
    /// <paramref name="waitMs"/>.</summary>
    public static async Task<ChromiumPage> OpenAsync(string chromium, float waitMs)
    {
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        });
        var page = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 1280, Height = 900 } });
        page.SetDefaultTimeout(waitMs);
        Assertions.SetDefaultExpectTimeout(waitMs);
        return new ChromiumPage(playwright, browser, page);
    }

    /// <summary>Where screenshots go: <c>AIDA_SCREENSHOTS</c> (relative to the checkout's root), or
    /// <paramref name="otherwise"/>'s directory.</summary>
    public static string Screenshots(Func<string> otherwise)
    {
        var configured = Environment.GetEnvironmentVariable("AIDA_SCREENSHOTS");
        var dir = string.IsNullOrEmpty(configured) ? otherwise() : Path.GetFullPath(configured, RepositoryRoot());
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>The checkout the test was built from: the nearest folder above the test's binaries holding Aida.sln.</summary>
    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Aida.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException($"no Aida.sln above {AppContext.BaseDirectory}");
    }

    public async ValueTask DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
    }
}
