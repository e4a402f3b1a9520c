### The problem pages (/problems/<kind>). Each message is a problem's title
### (the English one is also the `title` of the problem+json answer);
### .happened says what happened, .to-do what to do about it.

# The heading above .to-do.
problem-what-to-do = What to do

problem-malformed-request = Malformed request
    .happened = The request body is not well-formed JSON, so Holdfast could not read it.
    .to-do = Send a valid JSON body with the header Content-Type: application/json.

problem-bad-request = Bad request
    .happened = A path or query parameter, or the request itself, could not be read.
    .to-do = Check the URL, its parameters and headers against the API description at /openapi.json.

problem-invalid-signature = Signature not accepted
    .happened = The signature headers are missing or wrong, the key id is unknown, or the timestamp is more than 300 seconds away from Holdfast's clock.
    .to-do = Sign the exact body bytes: X-Holdfast-Signature: v1=<lowercase hex of HMAC-SHA256(secret, "<timestamp>.<body>")>, with the current Unix time in X-Holdfast-Timestamp and your key id in X-Holdfast-Key-Id. Check your clock.

problem-invalid-credentials = Sign-in failed
    .happened = The username, password or one-time code is wrong. Every failure counts against the agent: five within fifteen minutes lock it for fifteen minutes.
    .to-do = Check your username and password, and use the code your authenticator app shows now.

problem-unauthorized = Sign-in required
    .happened = The request carries no valid bearer token.
    .to-do = Sign in with POST /v1/auth/login and send the token as Authorization: Bearer <token>.

problem-session-expired = Session ended
    .happened = The session was idle for 30 minutes, reached its 12-hour limit, was signed out, or its agent was disabled.
    .to-do = Sign in again.

problem-otp-replayed = Code already used
    .happened = This one-time code was already accepted for this agent; each code is accepted once. The attempt counts as a failure.
    .to-do = Wait until your authenticator app shows the next code, then use that one.

problem-forbidden = Not allowed
    .happened = Your role (or your signing key) does not allow this action. The agent who started a playbook run cannot approve it either.
    .to-do = Ask someone whose role allows it: a lead for recovery, approvals and resolving, an admin for managing agents.

problem-mfa-required = Step-up needed
    .happened = This action is sensitive: it needs a TOTP step-up from the last five minutes.
    .to-do = Step up with POST /v1/auth/step-up {"{"}"otp": "<code>"{"}"}, or send the current code in the X-Holdfast-OTP header of this request.

problem-not-found = Not found
    .happened = There is no such resource, or this link is no longer valid: a newer link may have replaced it.
    .to-do = Check the identifier or address. For an unfreeze link, use the one in your newest message, or ask for a new one.

problem-method-not-allowed = Method not allowed
    .happened = This address does not accept the HTTP method used.
    .to-do = Use one of the methods listed in the Allow header.

problem-timeout = Request timed out
    .happened = Holdfast could not complete the request within its time limit.
    .to-do = Try again. A repeated alert is recognised by its alert_id, so a retry never opens a second incident.

problem-conflict = Conflict
    .happened = The change conflicts with the current state: the incident is not in a state that allows it, a run of that playbook is already in progress, or this step is not open.
    .to-do = Read the current state again, then decide what to do.

problem-expired = Request expired
    .happened = This unfreeze request has expired; a request lasts 24 hours.
    .to-do = Ask for a new unfreeze link to start again.

problem-payload-too-large = Request too large
    .happened = The request body is larger than 64 KiB.
    .to-do = Send a smaller body.

problem-unsupported-media-type = Unsupported media type
    .happened = The body was sent with a content type this address does not accept.
    .to-do = Send the body as application/json (or as the form the page posts).

problem-validation-failed = Invalid fields
    .happened = The body is well-formed, but some fields are missing or wrong. The problem's errors list names each field and what is wrong with it.
    .to-do = Fix every field in the errors list and send the request again.

problem-wrong-code = Wrong code
    .happened = The code entered is not right. The problem's tries_left says how many tries remain before the request is locked.
    .to-do = Enter the code from your newest message. If none arrived, ask for a new code.

problem-code-expired = Code expired
    .happened = The one-time code is more than ten minutes old.
    .to-do = Ask for a new code and enter it.

problem-account-locked = Agent locked
    .happened = Too many wrong passwords or codes: this agent is locked for fifteen minutes.
    .to-do = Wait the number of seconds in the Retry-After header. If you did not make these attempts, tell your security lead at once.

problem-rate-limited = Too many requests
    .happened = Too many requests came from your address in a short time.
    .to-do = Wait the number of seconds in the Retry-After header, then try again.

problem-attempts-exhausted = No tries left
    .happened = Too many wrong codes were entered, or too many codes sent, for this unfreeze request, so it is locked.
    .to-do = Wait an hour, then ask for a new unfreeze link.

problem-internal-error = Internal error
    .happened = Holdfast could not complete the request. The cause has been logged; none of it is in the answer.
    .to-do = Try again. If it keeps happening, tell the Holdfast operators when it happened.

problem-unavailable = Service unavailable
    .happened = Something Holdfast depends on (its database, Redis or the exchange) did not answer, or Holdfast is shutting down.
    .to-do = Try again in a few seconds.
