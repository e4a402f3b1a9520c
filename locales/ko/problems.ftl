### 문제 페이지 (/problems/<kind>). 메시지는 제목, .happened는 무슨 일이
### 있었는지, .to-do는 해결 방법입니다.

problem-what-to-do = 해결 방법

problem-malformed-request = 잘못된 형식의 요청
    .happened = 요청 본문이 올바른 JSON이 아니어서 Holdfast가 읽을 수 없습니다.
    .to-do = Content-Type: application/json 헤더와 함께 올바른 JSON 본문을 보내세요.

problem-bad-request = 잘못된 요청
    .happened = 경로나 쿼리 매개변수, 또는 요청 자체를 읽을 수 없습니다.
    .to-do = /openapi.json의 API 설명과 URL, 매개변수, 헤더를 비교해 확인하세요.

problem-invalid-signature = 서명이 거부되었습니다
    .happened = 서명 헤더가 없거나 잘못되었거나, 키 ID를 알 수 없거나, 타임스탬프가 Holdfast의 시계와 300초 넘게 차이 납니다.
    .to-do = 본문 바이트 그대로 서명하세요: X-Holdfast-Signature: v1=<HMAC-SHA256(secret, "<timestamp>.<body>")의 소문자 16진수>, X-Holdfast-Timestamp에는 현재 유닉스 시간, X-Holdfast-Key-Id에는 키 ID를 넣으세요. 시계도 확인하세요.

problem-invalid-credentials = 로그인 실패
    .happened = 사용자 이름, 비밀번호 또는 일회용 코드가 올바르지 않습니다. 실패할 때마다 기록되며, 15분 안에 5번 실패하면 15분 동안 잠깁니다.
    .to-do = 사용자 이름과 비밀번호를 확인하고 인증 앱에 지금 표시된 코드를 사용하세요.

problem-unauthorized = 로그인이 필요합니다
    .happened = 요청에 유효한 Bearer 토큰이 없습니다.
    .to-do = POST /v1/auth/login으로 로그인한 뒤 Authorization: Bearer <token> 헤더로 토큰을 보내세요.

problem-session-expired = 세션이 끝났습니다
    .happened = 세션이 30분 동안 사용되지 않았거나, 12시간 한도에 이르렀거나, 로그아웃되었거나, 해당 요원 계정이 비활성화되었습니다.
    .to-do = 다시 로그인하세요.

problem-otp-replayed = 이미 사용된 코드
    .happened = 이 일회용 코드는 이 요원에게 이미 한 번 승인되었습니다. 코드는 한 번만 쓸 수 있으며, 이번 시도는 실패로 기록됩니다.
    .to-do = 인증 앱에 다음 코드가 표시될 때까지 기다린 뒤 그 코드를 사용하세요.

problem-forbidden = 허용되지 않음
    .happened = 역할(또는 서명 키)이 이 작업을 허용하지 않습니다. 플레이북 실행을 시작한 요원은 그 실행을 승인할 수도 없습니다.
    .to-do = 권한이 있는 사람에게 요청하세요. 복구, 승인, 종결은 리드가, 요원 관리는 관리자가 합니다.

problem-mfa-required = 추가 인증 필요
    .happened = 민감한 작업이므로 최근 5분 안의 TOTP 추가 인증이 필요합니다.
    .to-do = POST /v1/auth/step-up {"{"}"otp": "<code>"{"}"}로 추가 인증하거나, 이 요청의 X-Holdfast-OTP 헤더에 현재 코드를 넣어 보내세요.

problem-not-found = 찾을 수 없음
    .happened = 해당 리소스가 없거나, 이 링크가 더 이상 유효하지 않습니다. 더 새로운 링크로 대체되었을 수 있습니다.
    .to-do = 식별자나 주소를 확인하세요. 동결 해제 링크라면 가장 최근 메시지의 링크를 사용하거나 새 링크를 요청하세요.

problem-method-not-allowed = 허용되지 않는 메서드
    .happened = 이 주소는 사용한 HTTP 메서드를 받지 않습니다.
    .to-do = Allow 헤더에 나열된 메서드 중 하나를 사용하세요.

problem-timeout = 요청 시간 초과
    .happened = Holdfast가 제한 시간 안에 요청을 처리하지 못했습니다.
    .to-do = 다시 시도하세요. 같은 알림은 alert_id로 식별되므로 다시 보내도 두 번째 사건이 생기지 않습니다.

problem-conflict = 충돌
    .happened = 변경이 현재 상태와 충돌합니다. 사건이 그 변경을 허용하지 않는 상태이거나, 같은 플레이북이 이미 실행 중이거나, 이 단계가 열려 있지 않습니다.
    .to-do = 현재 상태를 다시 확인한 뒤 어떻게 할지 정하세요.

problem-expired = 요청 만료
    .happened = 이 동결 해제 요청은 만료되었습니다. 요청은 24시간 동안 유효합니다.
    .to-do = 새 동결 해제 링크를 요청해 다시 시작하세요.

problem-payload-too-large = 요청이 너무 큼
    .happened = 요청 본문이 64KiB를 넘습니다.
    .to-do = 더 작은 본문을 보내세요.

problem-unsupported-media-type = 지원하지 않는 미디어 유형
    .happened = 이 주소가 받지 않는 콘텐츠 유형으로 본문을 보냈습니다.
    .to-do = 본문을 application/json(또는 페이지가 보내는 양식)으로 보내세요.

problem-validation-failed = 잘못된 필드
    .happened = 본문 형식은 올바르지만 일부 필드가 없거나 잘못되었습니다. errors 목록에 필드마다 무엇이 잘못되었는지 나와 있습니다.
    .to-do = errors 목록의 모든 필드를 고친 뒤 다시 보내세요.

problem-wrong-code = 코드가 올바르지 않습니다
    .happened = 입력한 코드가 맞지 않습니다. tries_left에 요청이 잠기기 전까지 남은 시도 횟수가 나와 있습니다.
    .to-do = 가장 최근 메시지의 코드를 입력하세요. 메시지를 받지 못했다면 새 코드를 요청하세요.

problem-code-expired = 코드 만료
    .happened = 일회용 코드가 발급된 지 10분이 지났습니다.
    .to-do = 새 코드를 요청해 입력하세요.

problem-account-locked = 요원 계정 잠김
    .happened = 비밀번호나 코드가 너무 많이 틀려 이 요원 계정이 15분 동안 잠겼습니다.
    .to-do = Retry-After 헤더의 초만큼 기다리세요. 본인이 시도한 것이 아니라면 즉시 보안 리드에게 알리세요.

problem-rate-limited = 요청이 너무 많음
    .happened = 짧은 시간에 같은 주소에서 너무 많은 요청이 왔습니다.
    .to-do = Retry-After 헤더의 초만큼 기다린 뒤 다시 시도하세요.

problem-attempts-exhausted = 남은 시도 없음
    .happened = 이 동결 해제 요청에 틀린 코드가 너무 많이 입력되었거나 코드가 너무 많이 발송되어 요청이 잠겼습니다.
    .to-do = 한 시간 기다린 뒤 새 동결 해제 링크를 요청하세요.

problem-internal-error = 내부 오류
    .happened = Holdfast가 요청을 처리하지 못했습니다. 원인은 기록되었으며 응답에는 포함되지 않습니다.
    .to-do = 다시 시도하세요. 계속 발생하면 발생 시각과 함께 Holdfast 운영자에게 알리세요.

problem-unavailable = 서비스를 사용할 수 없음
    .happened = Holdfast가 의존하는 서비스(데이터베이스, Redis 또는 거래소)가 응답하지 않았거나 Holdfast가 종료 중입니다.
    .to-do = 몇 초 뒤에 다시 시도하세요.
