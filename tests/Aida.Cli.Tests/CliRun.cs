using Aida.Model.Config;

namespace Aida.Cli.Tests;

/// <summary>Runs the aida command in-process and captures what it prints.</summary>
internal static class CliRun
{
    public static (int Code, string Out, string Err) Invoke(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = AidaCommand.RunAsync(args, stdout, stderr, CancellationToken.None).GetAwaiter().GetResult();
        return (code, stdout.ToString(), stderr.ToString());
    }

    public static string Root => BundledFiles.Root!;

    public static string Scratch(string text, string name = "scenario.yaml")
    {
        var dir = Path.Combine(Path.GetTempPath(), "aida-cli-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>POSTs the JSON <paramref name="body"/> to <paramref name="path"/> of a run's API with <paramref name="key"/>.</summary>
    public static async Task<HttpResponseMessage> Post(HttpClient http, string path, string key, string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        return await http.SendAsync(request);
    }

    /// <summary>Waits (at most 60 s) until an in-process <c>aida run</c> answers <c>/healthz</c>.</summary>
    public static async Task UntilUp(HttpClient http, Task<int> run)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            Assert.False(run.IsCompleted, "aida run stopped before its API answered");
            try
            {
                if ((await http.GetAsync("/healthz")).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(100);
        }

        Assert.Fail("the API did not answer within 60 s");
    }

    /// <summary>A loopback port nobody listens on now.</summary>
    public static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "aida-cli-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
