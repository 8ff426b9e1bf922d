using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Aida.Cli;

/// <summary>A live run's REST API from a terminal (<c>aida lockouts</c>, <c>aida redundancy</c>): its address from
/// <c>--api</c>, the key from <c>--key</c> or the environment, one request with the refusal said as the API words it.</summary>
internal static class LiveApi
{
    /// <summary>The environment variable an API key may come in, so that it stays out of the shell's history.</summary>
    public const string KeyVariable = "AIDA_API_KEY";

    /// <summary>The run's API address from <c>--api</c>.</summary>
    /// <param name="otherwise">What the command takes instead, said when <c>--api</c> is missing (<c>--data DIR for a
    /// stopped run's list</c>), or null.</param>
    /// <exception cref="BadInputException">None given, or not HOST:PORT nor an http(s) URL.</exception>
    internal static Uri Address(string? api, string? otherwise = null)
    {
        if (string.IsNullOrWhiteSpace(api))
        {
            throw new BadInputException($"--api: required: the live run's HOST:PORT as given to aida run --api{(otherwise is null ? "" : $" (or {otherwise})")}");
        }

        var text = api.Contains("://", StringComparison.Ordinal) ? api : "http://" + api;
        return Uri.TryCreate(text, UriKind.Absolute, out var url) && url.Scheme is "http" or "https" && url.Query.Length == 0
            ? new Uri(url.GetLeftPart(UriPartial.Path).TrimEnd('/') + "/")
            : throw new BadInputException($"--api: '{api}' is not HOST:PORT nor an http(s) URL (e.g. 127.0.0.1:8080)");
    }

    internal static string KeyOf(string? key) =>
        !string.IsNullOrWhiteSpace(key) ? key
        : Environment.GetEnvironmentVariable(KeyVariable) is { Length: > 0 } fromEnvironment ? fromEnvironment
        : throw new BadInputException($"--key: no API key: give --key or set {KeyVariable} (aida keys issue NAME --role operator --data DIR)");

    /// <summary>Sends one request; a refusal is said on stderr as the API words it (400, 404, 409: bad input, exit 2;
    /// 401, 403 and the rest: exit 1), as is a run that cannot be reached. Returns the exit code, and the body when it
    /// succeeded.</summary>
    internal static async Task<(int Code, JsonNode? Body)> SendAsync(HttpMethod method, Uri api, string path, string key, JsonObject? body, TextWriter stderr, CancellationToken token)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var request = new HttpRequestMessage(method, new Uri(api, path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        }

        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, token);
        }
        catch (HttpRequestException e)
        {
            await stderr.WriteLineAsync($"aida: cannot reach Aida's API at {api} (is aida run --api serving there?): {e.Message}");
            return (AidaCommand.Failure, null);
        }

        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(token);
            JsonNode? answer;
            try
            {
                answer = text.Length == 0 ? null : JsonNode.Parse(text);
            }
            catch (JsonException)
            {
                answer = null;
            }

            if (response.IsSuccessStatusCode && answer is not null)
            {
                return (AidaCommand.Ok, answer);
            }

            var status = (int)response.StatusCode;
            var said = answer is JsonObject problem && problem["detail"] is { } detail ? $"{problem["title"]}: {detail}" : $"{response.ReasonPhrase}: {Truncate(text)}";
            await stderr.WriteLineAsync($"aida: {method} {new Uri(api, path).AbsolutePath} answered {status} {said}");
            return (status is 400 or 404 or 409 ? AidaCommand.BadInput : AidaCommand.Failure, null);
        }
    }

    private static string Truncate(string text) => text.Length <= 200 ? text : text[..200] + "…";
}
