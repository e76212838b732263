using System.Text.Json;

namespace LiveNews.Server.Social.Adapters;

/// <summary>
/// Facebook Pages: <c>POST /{version}/{page-id}/feed</c> with <c>message</c> and <c>link</c>. Graph error codes
/// decide: throttling (4, 17, 32, 341, 613) waits, a bad token (190) or missing permission (10, 200-299)
/// stops, a duplicate (506) is already posted.
/// </summary>
internal sealed class FacebookAdapter(IHttpClientFactory clients) : IShareAdapter
{
    private static readonly int[] ThrottlingCodes = [4, 17, 32, 341, 613];

    public string Network => Networks.Facebook;

    public bool RetryAfterUnknownIsSafe => false;

    public async Task<PostOutcome> PostAsync(ShareRequest request, CancellationToken cancellationToken)
    {
        var http = clients.CreateClient(SocialServiceCollectionExtensions.HttpClientName);
        var version = request.Account.ApiVersion ?? "v21.0";
        using var message = new HttpRequestMessage(HttpMethod.Post, request.Endpoint(Network, $"/{version}/{Uri.EscapeDataString(request.Account.AccountId!)}/feed"))
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["message"] = request.Text,
                ["link"] = request.Link,
                ["access_token"] = request.Account.AccessToken!,
            }),
        };
        return await HttpOutcomes.ExchangeAsync(http, message, (response, body) =>
        {
            if (response.IsSuccessStatusCode)
            {
                using var json = JsonDocument.Parse(body);
                var id = json.RootElement.GetProperty("id").GetString()!;
                return PostOutcome.Posted(id, $"https://www.facebook.com/{id}");
            }

            var (code, text) = GraphError(body);
            var reason = $"Graph error {code}: {text}";
            return code switch
            {
                _ when ThrottlingCodes.Contains(code) => PostOutcome.RateLimited(reason, HttpOutcomes.RetryAfter(response) ?? TimeSpan.FromMinutes(1)),
                190 or 10 or (>= 200 and <= 299) => PostOutcome.Auth(reason),
                506 => new PostOutcome(OutcomeKind.AlreadyPosted, reason),
                1 or 2 => PostOutcome.Transient(reason),
                _ => (int)response.StatusCode >= 500 ? PostOutcome.Transient(reason) : PostOutcome.Rejected(reason),
            };
        }, cancellationToken);
    }

    private static (int Code, string Message) GraphError(string body)
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
