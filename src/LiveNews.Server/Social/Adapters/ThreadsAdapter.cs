using System.Text.Json;

namespace LiveNews.Server.Social.Adapters;

/// <summary>
/// Threads: create a text container, wait until its <c>status</c> is <c>FINISHED</c> (polled with backoff,
/// bounded), then publish it. The container id is saved on the job before publishing, and its status is read
/// before anything else on a retry: a <c>PUBLISHED</c> container is the post, an unpublished one is published,
/// and a new container is made only when the old one expired. A container publishes once, so repeating after
/// an unknown outcome cannot post twice.
/// </summary>
internal sealed class ThreadsAdapter(IHttpClientFactory clients, OAuthTokens tokens, TimeProvider time) : IShareAdapter
{
    private const int MaxCharacters = 500;
    private const int MaxLinks = 5;

    /// <summary>Status polls within one attempt (0.25 s, doubling: under 8 s); past that the job waits durably.</summary>
    private const int StatusPolls = 5;
    private static readonly TimeSpan FirstPoll = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan NotReadyWait = TimeSpan.FromSeconds(30);

    /// <summary>Throttled without a Retry-After: Threads counts calls and posts over a rolling 24 hours.</summary>
    private static readonly TimeSpan ThrottleWait = TimeSpan.FromHours(1);

    public string Network => Networks.Threads;

    public AfterUnknown AfterUnknown => AfterUnknown.ResendAtOnce;

    public Task<ComposedPost> ComposeAsync(ShareRequest request, CancellationToken cancellationToken)
    {
        var text = ShareText.WithLink(request.Text, request.Link, MaxCharacters, ShareText.ThreadsLength);
        var links = ShareText.Links(text).Select(Canonical).Distinct(StringComparer.Ordinal).Count();
        IReadOnlyList<string> problems = links > MaxLinks ? [$"Threads refuses posts with more than {MaxLinks} distinct links ({links} here)."] : [];
        return Task.FromResult(new ComposedPost(text, ShareText.ThreadsLength(text), MaxCharacters, problems));
    }

    public async Task<PostOutcome> PostAsync(ShareRequest request, CancellationToken cancellationToken)
    {
        var composed = await ComposeAsync(request, cancellationToken);
        if (composed.Problems.Count > 0)
        {
            return PostOutcome.Rejected(composed.Problems[0]);
        }

        var http = clients.CreateClient(SocialServiceCollectionExtensions.HttpClientName);
        var (token, failure) = await tokens.AccessTokenAsync(http, request, rejected: null, cancellationToken);
        if (failure is not null)
        {
            return failure;
        }

        var user = Uri.EscapeDataString(request.Account.AccountId!);
        var container = request.Job.Checkpoint;
        var status = container is null ? null : await StatusAsync(http, request, container, token!, cancellationToken);
        switch (status?.Value)
        {
            case "PUBLISHED":
                return new PostOutcome(OutcomeKind.AlreadyPosted, "the container was already published", RemoteId: request.Job.RemoteId, Checkpoint: container);
            case "ERROR":
                return PostOutcome.Rejected($"Threads could not process the container: {status.Detail}") with { Checkpoint = container };
            case "EXPIRED":
                container = null; // never published, and unpublishable now: a new one is safe
                break;
            case null when status is not null:
                return status.Failure! with { Checkpoint = container };
        }

        if (container is null)
        {
            var created = await CallAsync(http, request.Endpoint(Network, $"/v1.0/{user}/threads"), new()
            {
                ["media_type"] = "TEXT",
                ["text"] = composed.Text,
                ["access_token"] = token!,
            }, cancellationToken);
            if (created.Id is null)
            {
                // A container is invisible until published: creating another one is harmless.
                return created.Failure!.Kind == OutcomeKind.Unknown ? PostOutcome.Transient(created.Failure.Reason!) : created.Failure;
            }

            container = created.Id;
            await request.SaveCheckpointAsync(container, cancellationToken);
            status = null;
        }

        if (status?.Value != "FINISHED" && await WaitUntilFinishedAsync(http, request, container, token!, cancellationToken) is { } notReady)
        {
            return notReady with { Checkpoint = container };
        }

        var published = await CallAsync(http, request.Endpoint(Network, $"/v1.0/{user}/threads_publish"), new()
        {
            ["creation_id"] = container,
            ["access_token"] = token!,
        }, cancellationToken);
        return published.Id is not null
            ? PostOutcome.Posted(published.Id, await PermalinkAsync(http, request, published.Id, token!, cancellationToken)) with { Checkpoint = container }
            : published.Failure! with { Checkpoint = container };
    }

    /// <summary>
    /// The post's address (<c>GET /{media-id}?fields=permalink</c>); the publish answers only its id. Asked after
    /// the post is made, so anything short of an answer leaves the post without one, never the job in doubt.
    /// </summary>
    private static async Task<string?> PermalinkAsync(HttpClient http, ShareRequest request, string mediaId, string token, CancellationToken cancellationToken)
    {
        var url = request.Endpoint(Networks.Threads, $"/v1.0/{Uri.EscapeDataString(mediaId)}?fields=permalink&access_token={Uri.EscapeDataString(token)}");
        try
        {
            using var message = new HttpRequestMessage(HttpMethod.Get, url);
            var (response, failure) = await HttpOutcomes.SendAsync(http, message, cancellationToken);
            using (response)
            {
                if (failure is not null || !response!.IsSuccessStatusCode)
                {
                    return null;
                }

                using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
                return json.RootElement.TryGetProperty("permalink", out var permalink) && permalink.ValueKind == JsonValueKind.String ? permalink.GetString() : null;
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or JsonException)
        {
            return null; // The attempt's time ran out after the post, or a body that is not Graph's.
        }
    }

    /// <summary>The recorded container's status tells whether the earlier attempt published it.</summary>
    public async Task<ConfirmResult> ConfirmAsync(ShareRequest request, DateTimeOffset since, CancellationToken cancellationToken)
    {
        if (request.Job.Checkpoint is not { } container)
        {
            // The container id is saved before publishing: without one, nothing was published.
            return ConfirmResult.SafeToSend("no container was published");
        }

        var http = clients.CreateClient(SocialServiceCollectionExtensions.HttpClientName);
        var (token, failure) = await tokens.AccessTokenAsync(http, request, rejected: null, cancellationToken);
        if (failure is not null)
        {
            var reason = $"no token to read the container's status ({failure.Reason})";
            return failure.Kind == OutcomeKind.Auth ? ConfirmResult.CannotTell(reason) : ConfirmResult.LookUpFailed(reason, failure.RetryAfter);
        }

        var status = await StatusAsync(http, request, container, token!, cancellationToken);
        return status.Value switch
        {
            "PUBLISHED" => ConfirmResult.Found(request.Job.RemoteId, request.Job.RemoteUrl),
            "FINISHED" or "IN_PROGRESS" or "EXPIRED" or "ERROR" => ConfirmResult.SafeToSend($"the container is {status.Value}, not published"),
            _ when status.Failure?.Kind == OutcomeKind.Auth => ConfirmResult.CannotTell($"the container's status could not be read ({status.Failure.Reason})"),
            _ => ConfirmResult.LookUpFailed($"the container's status could not be read ({status.Failure?.Reason ?? status.Value})", status.Failure?.RetryAfter),
        };
    }

    /// <summary>Polls until FINISHED: null when ready, else the outcome to hand back (not ready yet, or refused).</summary>
    private async Task<PostOutcome?> WaitUntilFinishedAsync(HttpClient http, ShareRequest request, string container, string token, CancellationToken cancellationToken)
    {
        var delay = FirstPoll;
        for (var poll = 0; poll < StatusPolls; poll++)
        {
            await Task.Delay(delay, time, cancellationToken);
            delay *= 2;
            var status = await StatusAsync(http, request, container, token, cancellationToken);
            switch (status.Value)
            {
                case "FINISHED":
                    return null;
                case "PUBLISHED":
                    return new PostOutcome(OutcomeKind.AlreadyPosted, "the container was already published");
                case "ERROR" or "EXPIRED":
                    return PostOutcome.Rejected($"Threads could not process the container: {status.Value} {status.Detail}");
                case null:
                    return status.Failure;
            }
        }

        return PostOutcome.Transient("the container is not ready to publish yet", NotReadyWait);
    }

    /// <summary><c>GET /{container-id}?fields=status,error_message</c>.</summary>
    private static async Task<ContainerStatus> StatusAsync(HttpClient http, ShareRequest request, string container, string token, CancellationToken cancellationToken)
    {
        var url = request.Endpoint(Networks.Threads, $"/v1.0/{Uri.EscapeDataString(container)}?fields=status,error_message&access_token={Uri.EscapeDataString(token)}");
        using var message = new HttpRequestMessage(HttpMethod.Get, url);
        var (response, failure) = await HttpOutcomes.SendAsync(http, message, cancellationToken);
        if (failure is not null)
        {
            // A read posts nothing; it only cannot tell.
            return new ContainerStatus(null, null, failure.Kind == OutcomeKind.Transient ? failure : PostOutcome.Unknown($"reading the container's status: {failure.Reason}"));
        }

        using (response)
        {
            var body = await response!.Content.ReadAsStringAsync(cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                using var json = JsonDocument.Parse(body);
                var root = json.RootElement;
                return new ContainerStatus(
                    root.TryGetProperty("status", out var s) ? s.GetString() : null,
                    root.TryGetProperty("error_message", out var e) ? e.GetString() : null,
                    root.TryGetProperty("status", out _) ? null : PostOutcome.Unknown($"the container's status is missing: {HttpOutcomes.Clip(body)}"));
            }

            return new ContainerStatus(null, null, Failure(response, body) is { Kind: OutcomeKind.Rejected } refused
                ? PostOutcome.Unknown($"reading the container's status: {refused.Reason}")
                : Failure(response, body));
        }
    }

    private static async Task<(string? Id, PostOutcome? Failure)> CallAsync(HttpClient http, Uri endpoint, Dictionary<string, string> form, CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, endpoint) { Content = new FormUrlEncodedContent(form) };
        var (response, failure) = await HttpOutcomes.SendAsync(http, message, cancellationToken);
        if (failure is not null)
        {
            return (null, failure);
        }

        using (response)
        {
            var body = await response!.Content.ReadAsStringAsync(cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                using var json = JsonDocument.Parse(body);
                return (json.RootElement.GetProperty("id").GetString(), null);
            }

            return (null, Failure(response, body));
        }
    }

    /// <summary>
    /// Graph errors: 190 is a bad token; 24 with subcode 4279009 ("Media Not Found") is a container not ready yet;
    /// a throttling code (the app's call count, or the profile's 250 published posts per 24 hours) waits, as
    /// a 429 does, where its 400 or 403 would otherwise end the job.
    /// </summary>
    private static PostOutcome Failure(HttpResponseMessage response, string body)
    {
        var reason = $"{(int)response.StatusCode} {HttpOutcomes.Clip(body)}";
        var (code, _) = GraphErrors.Read(body);
        return code switch
        {
            190 => PostOutcome.Auth(reason),
            _ when code == 24 || body.Contains("4279009", StringComparison.Ordinal) => PostOutcome.Transient($"the container is not ready: {reason}", NotReadyWait),
            _ when GraphErrors.IsThrottling(code) => PostOutcome.RateLimited($"Threads limits this account for now: {reason}", HttpOutcomes.RetryAfter(response) ?? ThrottleWait),
            _ => HttpOutcomes.FromStatus(response, body),
        };
    }

    /// <summary>Threads counts unique links, with or without a scheme.</summary>
    private static string Canonical(string link)
    {
        var bare = link.StartsWith("https://", StringComparison.OrdinalIgnoreCase) ? link[8..] : link.StartsWith("http://", StringComparison.OrdinalIgnoreCase) ? link[7..] : link;
        return bare.TrimEnd('/').ToLowerInvariant();
    }

    private sealed record ContainerStatus(string? Value, string? Detail, PostOutcome? Failure);
}
