using System.Text.Json;

namespace LiveNews.Server.Social.Adapters;

/// <summary>
/// The error body Meta's Graph APIs answer with (Facebook Pages, Threads): <c>{"error":{"code":4,"message":…}}</c>,
/// and the codes that mean "throttled, wait" rather than "refused" (developers.facebook.com, Graph API error
/// handling: 4 application, 17 user, 32 page, 341 and 613 call-rate limits).
/// </summary>
internal static class GraphErrors
{
    private static readonly int[] ThrottlingCodes = [4, 17, 32, 341, 613];

    public static bool IsThrottling(int code) => ThrottlingCodes.Contains(code);

    /// <summary>The error's code and message; code 0 with the clipped body when it is not Graph's error.</summary>
    public static (int Code, string Message) Read(string body)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            var error = json.RootElement.GetProperty("error");
            return (error.GetProperty("code").GetInt32(), error.TryGetProperty("message", out var m) ? m.GetString() ?? "" : "");
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return (0, HttpOutcomes.Clip(body));
        }
    }
}
